/**
 * tfjs-backend-cpu prints "Hi, looks like you are running TensorFlow.js in Node.js … install our
 * node backend" the first time its backend stores a tensor in Node (`MathBackendCPU.write` while
 * its `firstUse` is set). That advice is not for `@falcon` users: tfjs-node cannot run our ops,
 * and our fast paths are the `cpu` kernels here and the `cuda` backend.
 *
 * tfjs's supported switch for its console notes is the `PROD` flag (what `tf.enableProdMode()`
 * sets); setting it for good would also hide every other tfjs warning from the application. So we
 * make that first write ourselves with `PROD` on, then put the flag back as it was: the notice is
 * consumed once, and the application's own tfjs warnings are untouched.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Consume tfjs-backend-cpu's one-time "install tfjs-node" notice (see the module comment). @internal */
export function consumeCpuNodeNotice(): void {
  const env = tf.env();
  if (!env.getBool('IS_NODE')) return;
  const backend = tf.findBackend('cpu'); // creates the cpu backend (not made active)
  if (!backend) return;
  const prod = env.getBool('PROD');
  env.set('PROD', true);
  try {
    backend.disposeData(backend.write(new Float32Array(0), [0], 'float32'), true);
  } finally {
    env.set('PROD', prod);
  }
}
