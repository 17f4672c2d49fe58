/**
 * tfjs-backend-cpu prints "Hi, looks like you are running TensorFlow.js in Node.js … install our
 * node backend" the first time a `MathBackendCPU` stores a tensor in Node (`write` while its
 * `firstUse` is set). That advice is not for `@falcon` users: tfjs-node cannot run our ops, and our
 * fast paths are the `cpu` kernels here and the `cuda` backend.
 *
 * tfjs's supported switch for its console notes is the `PROD` flag (what `tf.enableProdMode()`
 * sets); leaving it on would also hide every other tfjs warning from the application. So the `cpu`
 * backend's factory is wrapped: each backend instance it makes gets its first write done right
 * away, with `PROD` on for that one call and then put back as it was. tfjs makes a new instance
 * whenever it picks its default backend, so wrapping the factory (not consuming one instance)
 * is what keeps the notice away.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Make one backend instance's first write with tfjs's PROD flag on (see the module comment). */
function consumeFirstUse(backend: tf.KernelBackend): void {
  const env = tf.env();
  const prod = env.getBool('PROD');
  env.set('PROD', true);
  try {
    backend.disposeData(backend.write(new Float32Array(0), [0], 'float32'), true);
  } finally {
    env.set('PROD', prod);
  }
}

/**
 * Keep tfjs-backend-cpu's one-time "install tfjs-node" notice from being printed (see the module
 * comment). Call once, after tfjs-backend-cpu has registered `cpu`. @internal
 */
export function consumeCpuNodeNotice(): void {
  if (!tf.env().getBool('IS_NODE')) return;
  const factory = tf.findBackendFactory('cpu');
  if (!factory) return;
  const engine = tf.engine() as unknown as { registry: Record<string, tf.KernelBackend | undefined>; registryFactory: Record<string, { priority: number } | undefined> };
  const existing = engine.registry.cpu;
  if (existing) {
    // Already made (tfjs was used before @falcon/tensor loaded): removing it would drop its tensors.
    consumeFirstUse(existing);
    return;
  }
  const priority = engine.registryFactory.cpu?.priority ?? 1;
  tf.removeBackend('cpu'); // no instance yet: this only drops the factory entry
  tf.registerBackend(
    'cpu',
    () => {
      const backend = factory();
      if (backend instanceof tf.KernelBackend) consumeFirstUse(backend);
      return backend;
    },
    priority,
  );
}
