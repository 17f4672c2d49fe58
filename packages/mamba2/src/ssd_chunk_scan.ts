/**
 * `ssdChunkScan`: the Mamba-2 selective state-space scan (SSD) over a whole sequence, declared as
 * the op `FalconSsdChunkScan`. The reference (`reference/ssd_chunk_scan.ts`) is the sequential
 * recurrence of the spec; the CPU and WebGPU kernels compute the chunked form, the CUDA kernel the
 * recurrence position by position with the state in registers (`csrc/ssd_sequential_scan.cu`); the
 * gradient is the op `FalconSsdChunkScanBackward` (`ssd_chunk_scan_backward.ts`).
 */
import { FALCON_H1_MAMBA_CHUNK_SIZE } from '@falcon/checkpoint';
import { defineOp, isRecordingGradients, tf } from '@falcon/tensor';
import type { Tensor, Tensor4D } from '@falcon/tensor';
import { ssdChunkScanCpu } from './kernels/cpu/ssd_chunk_scan.js';
import { ssdChunkScanCuda } from './kernels/cuda/ssd_chunk_scan.js';
import { ssdChunkScanWebgpu } from './kernels/webgpu/ssd_chunk_scan.js';
import { ssdChunkScanBackwardOp } from './ssd_chunk_scan_backward.js';
import { ssdChunked } from './ssd_chunked.js';
import { ssdRecomputed } from './ssd_recomputed.js';
import type { SsdChunkScanOptions, SsdChunkScanResult, SsdForm } from './ssd_chunk_scan_options.js';

export type { SsdChunkScanOptions, SsdChunkScanResult, SsdForm } from './ssd_chunk_scan_options.js';
import { timeStepAttrs } from './time_step.js';
import { ssdChunkScanSignature } from './ssd_chunk_scan_signature.js';
import type { SsdAttrs, SsdChunkScanInputName, SsdChunkScanOptionalName, SsdChunkScanOutputName } from './ssd_chunk_scan_signature.js';
import { check } from './validate.js';

/** Default chunk size: transformers' `mamba_chunk_size` default, `@falcon/checkpoint`'s `FALCON_H1_MAMBA_CHUNK_SIZE` (256). */
export const DEFAULT_CHUNK_SIZE: number = FALCON_H1_MAMBA_CHUNK_SIZE;

/**
 * Backends on which `'auto'` means `'recompute'` while a gradient is recorded (training: the
 * matmul form's backward, measured 1.4–3× faster there than the sequential kernel's forward +
 * backward; the kernel's forward, faster alone at batch 4 and keeping no tape). Without a tape,
 * `'auto'` is the kernel.
 */
const MATMUL_BACKENDS = new Set(['cuda']);
let defaultForm: SsdForm = 'auto';

/**
 * Set the form {@link ssdChunkScan} uses when a call does not name one (process-wide; benchmarks
 * and tests compare the two). Returns the previous default.
 * @param form - `'auto'`, `'kernel'`, `'matmul'` or `'recompute'`
 */
export function setSsdForm(form: SsdForm): SsdForm {
  check('setSsdForm').require(['auto', 'kernel', 'matmul', 'recompute'].includes(form), () => `form must be 'auto', 'kernel', 'matmul' or 'recompute', got ${String(form)}`);
  const prev = defaultForm;
  defaultForm = form;
  return prev;
}

/** The form a call with `form` runs on the active backend ('recompute' has no final states: then 'matmul'). @internal */
export function resolveSsdForm(form: SsdForm | undefined, finalStates: boolean): 'kernel' | 'matmul' | 'recompute' {
  const f = form ?? defaultForm;
  if (f === 'recompute') return finalStates ? 'matmul' : 'recompute';
  if (f !== 'auto') return f;
  if (!MATMUL_BACKENDS.has(tf.getBackend()) || !isRecordingGradients()) return 'kernel';
  return finalStates ? 'matmul' : 'recompute';
}

const OP = 'ssdChunkScan';

/** Check the shapes and dtypes of an SSD call. @internal */
export function validateSsd(op: string, t: Partial<Record<SsdChunkScanInputName | SsdChunkScanOptionalName, Tensor>>, step: boolean): void {
  const { x, dt, A, B, C, D, z, dtBias, initialStates, seqIdx } = t;
  const c = check(op);
  const xNames = step ? ['batch', 'nheads', 'headdim'] : ['batch', 'seqlen', 'nheads', 'headdim'];
  const xs = c.arg('x').tensor(x, { dims: xNames });
  const [b, l, h, p] = step ? [xs[0], undefined, xs[1], xs[2]] : xs;
  const lead = step ? [b] : [b, l];
  const leadNames = step ? ['batch'] : ['batch', 'seqlen'];
  c.arg('dt').tensor(dt, { dims: [...leadNames, 'nheads'], shape: [...lead, h] });
  c.arg('A').tensor(A, { dims: ['nheads'], shape: [h] });
  const bs = c.arg('B').tensor(B, { dims: [...leadNames, 'ngroups', 'dstate'], shape: lead });
  const [g, n] = bs.slice(-2);
  c.arg('C').tensor(C, { dims: [...leadNames, 'ngroups', 'dstate'], shape: [...lead, g, n] });
  c.require(g >= 1 && h % g === 0, () => `nheads (${h}) must be divisible by ngroups (${g})`);
  c.arg('D').tensor(D, { dims: ['nheads'], shape: [h], optional: true });
  c.arg('z').tensor(z, { dims: xNames, shape: xs, optional: true });
  c.arg('dtBias').tensor(dtBias, { dims: ['nheads'], shape: [h], optional: true });
  const stateDims = { dims: ['batch', 'nheads', 'headdim', 'dstate'], shape: [b, h, p, n], optional: true };
  c.arg(step ? 'state' : 'initialStates').tensor(initialStates, stateDims);
  c.arg('seqIdx').tensor(seqIdx, { dims: ['batch', 'seqlen'], shape: [b, l], dtype: 'int32', optional: true });
  for (const [name, v] of [['batch', b], ['nheads', h], ['headdim', p], ['dstate', n], ...(step ? [] : [['seqlen', l]])] as const) {
    c.require(v !== 0, () => `${name} must be at least 1`);
  }
}

/** The op `FalconSsdChunkScan`. @internal */
export const ssdChunkScanOp = defineOp<SsdChunkScanInputName, SsdChunkScanOptionalName, SsdAttrs, SsdChunkScanOutputName>({
  ...ssdChunkScanSignature,
  validate: (t, attrs) => {
    check(OP).attr('chunkSize').positiveInt(attrs.chunkSize);
    validateSsd(OP, t, false);
  },
  kernels: { cpu: ssdChunkScanCpu, webgpu: ssdChunkScanWebgpu, cuda: ssdChunkScanCuda },
  grad: ({ dy, inputs, attrs }) => {
    const r = ssdChunkScanBackwardOp({ ...inputs, dy: dy.y, dFinalStates: dy.finalStates }, attrs);
    return {
      x: r.dx,
      dt: r.ddt,
      A: r.dA,
      B: r.dB,
      C: r.dC,
      ...(inputs.D ? { D: r.dD } : {}),
      ...(inputs.z ? { z: r.dz } : {}),
      ...(inputs.dtBias ? { dtBias: r.ddtBias } : {}),
      ...(inputs.initialStates ? { initialStates: r.dInitialStates } : {}),
    };
  },
});

/**
 * The SSD scan of Mamba-2 over a sequence. For each batch, head `i` (group `i / (nheads/ngroups)`)
 * and position t, with `Δ_t = clamp(softplus(dt_t + dtBias), dtLimit)`:
 * `S_t = exp(Δ_t·A_i)·S_{t−1} + Δ_t·x_t⊗B_t`, `y_t = (S_t·C_t + D_i·x_t)·silu(z_t)`.
 * Differentiable with respect to every float input.
 *
 * @param x - `[batch, seqlen, nheads, headdim]`
 * @param dt - `[batch, seqlen, nheads]` raw time steps
 * @param A - `[nheads]` (negative: `−exp(A_log)`)
 * @param B - `[batch, seqlen, ngroups, dstate]`
 * @param C - `[batch, seqlen, ngroups, dstate]`
 * @param options - D, z, dtBias, dtSoftplus, dtLimit, chunkSize, initialStates, returnFinalStates, seqIdx
 * @returns y `[batch, seqlen, nheads, headdim]` and, when asked, finalStates `[batch, nheads, headdim, dstate]`
 * @throws Error naming the argument when shapes, dtypes or options are wrong (before any kernel runs)
 */
export function ssdChunkScan(x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, options: SsdChunkScanOptions = {}): SsdChunkScanResult {
  const { D, z, dtBias, initialStates, seqIdx, chunkSize = DEFAULT_CHUNK_SIZE, returnFinalStates = false } = options;
  const attrs: SsdAttrs = { ...timeStepAttrs(OP, options), chunkSize };
  const form = resolveSsdForm(options.form, returnFinalStates);
  if (form !== 'kernel') {
    check(OP).attr('chunkSize').positiveInt(chunkSize);
    validateSsd(OP, { x, dt, A, B, C, D, z, dtBias, initialStates, seqIdx }, false);
    if (form === 'matmul') return ssdChunked(x, dt, A, B, C, { ...options, chunkSize });
    return ssdRecomputed((...a) => ssdChunkScan(...a), x, dt, A, B, C, { ...options, chunkSize, form: 'kernel' });
  }
  const r = ssdChunkScanOp({ x, dt, A, B, C, D, z, dtBias, initialStates, seqIdx }, attrs);
  if (!returnFinalStates) {
    r.finalStates.dispose();
    return { y: r.y as Tensor4D };
  }
  return { y: r.y as Tensor4D, finalStates: r.finalStates as Tensor4D };
}
