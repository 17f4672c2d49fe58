/**
 * Input checks shared by the attention ops: ranks, head counts, matching shapes, masks, packed
 * sequence boundaries and attributes. Every error names the function, the argument and the problem,
 * and is thrown before any kernel runs.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { AttentionAttrs } from './attention_attrs.js';

/** Throw `fn: message`. */
export function fail(fn: string, message: string): never {
  throw new Error(`${fn}: ${message}`);
}

/** Check a tensor's rank and dtype; `layout` names its dimensions for the message. */
export function checkTensor(fn: string, name: string, t: Tensor, layout: string, dtypes: readonly string[] = ['float32']): void {
  const rank = layout.split(',').length;
  if (t.rank !== rank) fail(fn, `${name} must have rank ${rank} [${layout}], got shape [${t.shape}]`);
  if (!dtypes.includes(t.dtype)) fail(fn, `${name} must be ${dtypes.join(' or ')}, got ${t.dtype}`);
  if (t.shape.some((d) => d === 0)) fail(fn, `${name} must not be empty, got shape [${t.shape}]`);
}

/** Check an integer attribute ≥ `min`. */
export function checkInt(fn: string, name: string, x: unknown, min: number): void {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min) fail(fn, `${name} must be an integer ≥ ${min}, got ${String(x)}`);
}

/** Check packed-sequence boundaries: 0 … seqlen, non-decreasing. */
export function checkCuSeqlens(fn: string, cu: ArrayLike<number>, seqlen: number): void {
  if (cu.length < 2) fail(fn, `cuSeqlens must have at least 2 entries [0, ..., seqlen], got ${cu.length}`);
  if (cu[0] !== 0) fail(fn, `cuSeqlens must start at 0, got ${cu[0]}`);
  if (cu[cu.length - 1] !== seqlen) fail(fn, `cuSeqlens must end at seqlen ${seqlen}, got ${cu[cu.length - 1]}`);
  for (let i = 1; i < cu.length; i++) {
    if (!Number.isInteger(cu[i])) fail(fn, `cuSeqlens must hold integers, got ${cu[i]} at index ${i}`);
    if (cu[i] < cu[i - 1]) fail(fn, `cuSeqlens must be non-decreasing, got ${cu[i - 1]} then ${cu[i]} at index ${i}`);
  }
}

/** The optional tensors of an attention call. */
export interface AttentionExtras {
  /** `[nHeads]` */
  alibiSlopes?: Tensor;
  /** `[batch, kvRows]` */
  keyPaddingMask?: Tensor;
  /** int32 `[nSeqs + 1]` */
  cuSeqlens?: Tensor;
}

/**
 * Check q `[batch, seqlen, nHeads, headDim]`, k and v `[batch, kvRows, nKvHeads, headDim]`, the
 * optional inputs and the attributes.
 */
export function checkAttention(fn: string, q: Tensor, k: Tensor, v: Tensor, x: AttentionExtras, attrs: AttentionAttrs, kName = 'k', vName = 'v'): void {
  checkTensor(fn, 'q', q, 'batch, seqlen, nHeads, headDim');
  checkTensor(fn, kName, k, 'batch, seqlenK, nKvHeads, headDim');
  checkTensor(fn, vName, v, 'batch, seqlenK, nKvHeads, headDim');
  const [batch, seqlen, nHeads, headDim] = q.shape;
  const [kb, kvRows, nKv, kd] = k.shape;
  if (v.shape.some((d, i) => d !== k.shape[i])) fail(fn, `${vName} has shape [${v.shape}] but ${kName} has shape [${k.shape}]; they must match`);
  if (kb !== batch) fail(fn, `${kName} has batch ${kb} but q has batch ${batch}`);
  if (kd !== headDim) fail(fn, `${kName} has headDim ${kd} but q has headDim ${headDim}`);
  if (nHeads % nKv !== 0) fail(fn, `q has ${nHeads} heads, which is not a multiple of the ${nKv} KV heads of ${kName} (nHeads must be divisible by nKvHeads)`);
  if (x.alibiSlopes) {
    checkTensor(fn, 'alibiSlopes', x.alibiSlopes, 'nHeads');
    if (x.alibiSlopes.shape[0] !== nHeads) fail(fn, `alibiSlopes has ${x.alibiSlopes.shape[0]} slopes, expected one per query head (${nHeads})`);
  }
  if (x.keyPaddingMask) {
    checkTensor(fn, 'keyPaddingMask', x.keyPaddingMask, 'batch, seqlenK', ['float32', 'int32', 'bool']);
    const [mb, ml] = x.keyPaddingMask.shape;
    if (mb !== batch || ml !== kvRows) fail(fn, `keyPaddingMask has shape [${x.keyPaddingMask.shape}], expected [${batch},${kvRows}] ([batch, seqlenK])`);
  }
  if (x.cuSeqlens) {
    checkTensor(fn, 'cuSeqlens', x.cuSeqlens, 'nSeqs + 1', ['int32']);
    if (kvRows !== seqlen) fail(fn, `cuSeqlens (packed sequences) needs as many keys as queries, got seqlen ${seqlen} and seqlenK ${kvRows}`);
    if (x.cuSeqlens.shape[0] < 2) fail(fn, `cuSeqlens must have at least 2 entries [0, ..., seqlen], got ${x.cuSeqlens.shape[0]}`);
    // the values are checked where reading them is free (webgpu cannot read synchronously; pass a host array there)
    if (tf.getBackend() === 'cpu') checkCuSeqlens(fn, x.cuSeqlens.dataSync(), seqlen);
  }
  if (typeof attrs.scale !== 'number' || !Number.isFinite(attrs.scale)) fail(fn, `softmaxScale must be a finite number, got ${String(attrs.scale)}`);
  if (typeof attrs.causal !== 'boolean') fail(fn, `causal must be a boolean, got ${String(attrs.causal)}`);
  checkInt(fn, 'windowLeft', attrs.windowLeft, -1);
  checkInt(fn, 'windowRight', attrs.windowRight, -1);
}

/** A tensor's shape as a plain number array (tfjs types a rank-generic shape as a tuple union). */
export function dims(t: Tensor): number[] {
  return t.shape as number[];
}
