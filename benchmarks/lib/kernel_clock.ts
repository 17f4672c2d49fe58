// Times every top-level tfjs kernel a piece of work runs: host time (the dispatch, on every backend)
// and, on the cuda backend, GPU time between CUDA events recorded around the kernel (as
// benchmarks/cuda/profile-step.ts measures). For decode steps: host time vs GPU time, kernels per step.
import { tf } from '@falcon/tensor';

interface EventAddon {
  eventRecord(): number;
  eventElapsed(a: number, b: number): number;
}

/** What {@link clocked} measured. */
export interface KernelClock {
  /** Top-level kernels run. */
  kernels: number;
  /** Sum of the kernels' host (dispatch) time, ms. */
  hostMs: number;
  /** Sum of the kernels' GPU time, ms (null off the cuda backend). */
  gpuMs: number | null;
  /** Wall time of the work, ms (from the call until its promise settled). */
  wallMs: number;
}

/** The cuda backend's event calls, or undefined on another backend. */
function events(): EventAddon | undefined {
  if (tf.getBackend() !== 'cuda') return undefined;
  return (tf.backend() as unknown as { addon: EventAddon }).addon;
}

/**
 * Run `f` with every top-level kernel timed.
 * @param f - the work (awaited; it should end by reading a result so the GPU work is finished)
 */
export async function clocked(f: () => Promise<unknown>): Promise<KernelClock> {
  const engine = tf.engine() as unknown as { runKernel: (name: string, inputs: unknown, attrs: unknown) => unknown };
  const original = engine.runKernel;
  const ev = events();
  const marks: [number, number][] = [];
  let depth = 0;
  let kernels = 0;
  let hostMs = 0;
  engine.runKernel = function (name, inputs, attrs) {
    if (depth > 0) return original.call(this, name, inputs, attrs);
    depth++;
    const a = ev?.eventRecord();
    const t0 = performance.now();
    try {
      return original.call(this, name, inputs, attrs);
    } finally {
      hostMs += performance.now() - t0;
      kernels++;
      if (ev) marks.push([a!, ev.eventRecord()]);
      depth--;
    }
  };
  const t0 = performance.now();
  try {
    await f();
  } finally {
    engine.runKernel = original;
  }
  const wallMs = performance.now() - t0;
  const gpuMs = ev ? marks.reduce((s, [a, b]) => s + ev.eventElapsed(a, b), 0) : null;
  return { kernels, hostMs, gpuMs, wallMs };
}
