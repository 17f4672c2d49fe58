// Shared by the WebGPU benchmarks: starts a backend, labels results with the adapter (so numbers
// from a software adapter such as SwiftShader are never mistaken for GPU numbers), and times an op
// on the GPU by queueing it `reps` times and waiting for the queue with a one-element read.
import os from 'node:os';
import type { BackendName } from '@falcon/tensor';
import { initBackend, tf } from '@falcon/tensor';
import { time } from '../lib/report.js';

/** What ran a row: backend and adapter. */
export interface Runner {
  /** `cpu` or `webgpu`. */
  backend: BackendName;
  /** The adapter (webgpu) or the CPU backend's name. */
  adapter: string;
  /** True for a software (fallback) adapter: its numbers are CPU numbers, not GPU numbers. */
  software: boolean;
}

/** Start `backend` and describe it. */
export async function start(backend: BackendName): Promise<Runner> {
  const { info } = await initBackend(backend);
  if (backend !== 'webgpu') return { backend, adapter: 'tfjs-backend-cpu', software: false };
  return { backend, adapter: String(info?.adapter), software: !!info?.fallback };
}

/**
 * Median ms of one call of `op`: each timed run queues `reps` calls and waits for the last result
 * (a one-element slice is read, so the read back costs nothing measurable).
 */
export async function msPerCall(op: () => tf.Tensor, reps: number): Promise<number> {
  const once = async () => {
    let last: tf.Tensor | undefined;
    for (let i = 0; i < reps; i++) {
      last?.dispose();
      last = op();
    }
    const probe = tf.slice(tf.reshape(last!, [-1]), [0], [1]);
    await probe.data();
    tf.dispose([probe, last!]);
  };
  const { medianMs } = await time(once, { warmup: 1, iters: 5 });
  return medianMs / reps;
}

/** The notes every WebGPU result file carries. */
export function notes(runners: Runner[]): Record<string, unknown> {
  const gpu = runners.find((r) => r.backend === 'webgpu');
  return {
    adapter: gpu?.adapter ?? 'none',
    // Other work on the machine slows both backends; the 1-minute load average says how much there was.
    loadAverage1m: +os.loadavg()[0].toFixed(2),
    note: gpu?.software
      ? 'webgpu ran on a SOFTWARE adapter (SwiftShader, on the CPU): these are not GPU numbers'
      : 'webgpu ran on a hardware adapter',
  };
}
