/**
 * The SSD form `'recompute'`: the op's kernel forward (nothing kept but the inputs, as the kernel
 * form) and a backward that recomputes the chunked matmul form (`ssd_chunked.ts`) from the saved
 * inputs and differentiates it by autodiff on a tape of its own. The memory of the kernel form
 * with the backward speed of the matmul form (which is several times the sequential kernel's at
 * training shapes on cuda: `benchmarks/results/ssd-forms-h200-2026-12-03.md`).
 */
import { isolatedGradients, tf } from '@falcon/tensor';
import type { Tensor, Tensor4D } from '@falcon/tensor';
import { ssdChunked } from './ssd_chunked.js';
import type { SsdChunkScanOptions, SsdChunkScanResult } from './ssd_chunk_scan_options.js';

/** The float inputs that may be differentiated, in the order they are passed through customGrad. */
const OPTIONAL = ['D', 'z', 'dtBias', 'initialStates'] as const;

/**
 * y of the SSD scan, forward by `forward` (the kernel), backward through {@link ssdChunked}
 * recomputed. Without final states (a caller that needs them takes another form).
 * @param forward - the kernel form (same arguments as ssdChunked)
 * @param x - `[batch, seqlen, nheads, headdim]`; dt `[batch, seqlen, nheads]`, A `[nheads]`, B, C `[batch, seqlen, ngroups, dstate]`
 * @returns y `[batch, seqlen, nheads, headdim]`
 * @internal
 */
export function ssdRecomputed(
  forward: typeof ssdChunked,
  x: Tensor,
  dt: Tensor,
  A: Tensor,
  B: Tensor,
  C: Tensor,
  options: SsdChunkScanOptions,
): SsdChunkScanResult {
  const present = OPTIONAL.filter((k) => options[k] !== undefined);
  const rebuild = (t: Tensor[]): [Tensor, Tensor, Tensor, Tensor, Tensor, SsdChunkScanOptions] => {
    const o: SsdChunkScanOptions = { ...options, returnFinalStates: false };
    present.forEach((k, i) => (o[k] = t[5 + i]));
    return [t[0], t[1], t[2], t[3], t[4], o];
  };
  const f = tf.customGrad((...args: (Tensor | ((t: Tensor[]) => void))[]) => {
    const save = args[args.length - 1] as (t: Tensor[]) => void;
    const ins = args.slice(0, -1) as Tensor[];
    save(ins);
    return {
      value: forward(...rebuild(ins)).y,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const g = Array.isArray(dy) ? dy[0] : dy;
        const res = isolatedGradients(() => ssdChunked(...rebuild(saved)).y, saved, g);
        res.value.dispose();
        return res.grads.map((d, i) => d ?? tf.zerosLike(saved[i]));
      },
    };
  });
  const y = (f as unknown as (...a: Tensor[]) => Tensor)(x, dt, A, B, C, ...present.map((k) => options[k] as Tensor));
  return { y: y as Tensor4D };
}
