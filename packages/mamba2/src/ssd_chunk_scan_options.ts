/**
 * The options and result of {@link ssdChunkScan} (its own file so that both forms, the op and
 * `ssd_chunked.ts`, share them without an import cycle).
 */
import type { Tensor, Tensor4D } from '@falcon/tensor';
import type { TimeStepOptions } from './time_step.js';

/** Options of {@link ssdChunkScan}. */
export interface SsdChunkScanOptions extends TimeStepOptions {
  /** Skip connection `D` `[nheads]`: `y += D·x`. */
  D?: Tensor;
  /** Gate `[batch, seqlen, nheads, headdim]`: `y *= silu(z)` after the skip connection (as mamba-ssm). */
  z?: Tensor;
  /** Added to dt before the softplus, `[nheads]`. */
  dtBias?: Tensor;
  /** Chunk length of the chunked form (default {@link DEFAULT_CHUNK_SIZE}); the result does not depend on it. */
  chunkSize?: number;
  /** State before the first position, `[batch, nheads, headdim, dstate]` (default zeros). */
  initialStates?: Tensor;
  /** Return the state after the last position (default false). */
  returnFinalStates?: boolean;
  /**
   * Packed sequences: int32 `[batch, seqlen]` sequence id per position. Where the id changes, the
   * state restarts from zero (nothing flows across the boundary); the initial state feeds the
   * sequence at position 0.
   */
  seqIdx?: Tensor;
  /**
   * How it is computed (default `'auto'`, see {@link setSsdForm}): `'kernel'` the op's kernel of
   * the backend; `'matmul'` the chunked form as batched matrix products and element-wise ops
   * differentiated by autodiff (`ssd_chunked.ts`; its tape holds a few
   * `[batch, nheads, seqlen, chunkSize]` blocks per call); `'recompute'` the kernel's forward and,
   * for the backward, the matmul form recomputed from the inputs (the kernel's memory; with
   * `returnFinalStates` it is `'matmul'`); `'auto'` the measured choice of the active backend
   * (`benchmarks/results/ssd-forms-h200-2026-12-03.md`): on cuda `'recompute'` while a gradient is
   * recorded, the kernel otherwise; elsewhere the kernel.
   */
  form?: SsdForm;
}

/** How {@link ssdChunkScan} computes: the backend's kernel, the chunked form in matrix products, the kernel forward with the matrix-product backward, or the measured choice per backend. */
export type SsdForm = 'auto' | 'kernel' | 'matmul' | 'recompute';

/** Result of {@link ssdChunkScan}. */
export interface SsdChunkScanResult {
  /** Output `[batch, seqlen, nheads, headdim]`. */
  y: Tensor4D;
  /** State after the last position `[batch, nheads, headdim, dstate]` (when asked for). */
  finalStates?: Tensor4D;
}
