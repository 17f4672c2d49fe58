/**
 * The argument checks of the attention ops, on `@falcon/tensor`'s {@link opCheck} worded as this
 * package's messages are (names bare: `q must have rank 4 …`, shapes as `[2,5,8]`): the shared
 * checks of q, k, v, the masks and packed sequence boundaries, and the attributes. Every error
 * names the function, the argument and the problem, and is thrown before any kernel runs.
 */
import { opCheck, tf } from '@falcon/tensor';
import type { CheckStyle, DataType, OpCheck, Tensor } from '@falcon/tensor';
import type { AttentionAttrs } from './attention_attrs.js';

/** The wording of this package's messages. @internal */
export const ATTENTION_CHECK_STYLE: CheckStyle = { bare: ['argument', 'attribute', 'option'], shapeSeparator: ',' };

/** The checker of one function of this package, e.g. `check('flashAttention')`. @internal */
export function check(fn: string): OpCheck {
  return opCheck(fn, ATTENTION_CHECK_STYLE);
}

/**
 * Check a non-empty tensor by the names of its dimensions, e.g. `'batch, seqlen, nHeads, headDim'`.
 * @returns its shape
 * @internal
 */
export function checkTensor(c: OpCheck, name: string, t: Tensor, layout: string, dtype: DataType | readonly DataType[] = 'float32'): number[] {
  return c.arg(name).tensor(t, { dims: layout.split(', '), dtype, nonEmpty: true });
}

/** Check packed-sequence boundaries: 0 … seqlen, non-decreasing integers. @internal */
export function checkCuSeqlens(c: OpCheck, cu: ArrayLike<number>, seqlen: number): void {
  c.require(cu.length >= 2, () => `cuSeqlens must have at least 2 entries [0, ..., seqlen], got ${cu.length}`);
  c.require(cu[0] === 0, () => `cuSeqlens must start at 0, got ${cu[0]}`);
  c.require(cu[cu.length - 1] === seqlen, () => `cuSeqlens must end at seqlen ${seqlen}, got ${cu[cu.length - 1]}`);
  for (let i = 1; i < cu.length; i++) {
    c.require(Number.isInteger(cu[i]), () => `cuSeqlens must hold integers, got ${cu[i]} at index ${i}`);
    c.require(cu[i] >= cu[i - 1], () => `cuSeqlens must be non-decreasing, got ${cu[i - 1]} then ${cu[i]} at index ${i}`);
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
 * @internal
 */
export function checkAttention(c: OpCheck, q: Tensor, k: Tensor, v: Tensor, x: AttentionExtras, attrs: AttentionAttrs, kName = 'k', vName = 'v'): void {
  const [batch, seqlen, nHeads, headDim] = checkTensor(c, 'q', q, 'batch, seqlen, nHeads, headDim');
  const [kb, kvRows, nKv, kd] = checkTensor(c, kName, k, 'batch, seqlenK, nKvHeads, headDim');
  checkTensor(c, vName, v, 'batch, seqlenK, nKvHeads, headDim');
  c.require(tf.util.arraysEqual(v.shape, k.shape), () => `${vName} has shape ${c.shape(v.shape)} but ${kName} has shape ${c.shape(k.shape)}; they must match`);
  c.require(kb === batch, () => `${kName} has batch ${kb} but q has batch ${batch}`);
  c.require(kd === headDim, () => `${kName} has headDim ${kd} but q has headDim ${headDim}`);
  c.require(nHeads % nKv === 0, () => `q has ${nHeads} heads, which is not a multiple of the ${nKv} KV heads of ${kName} (nHeads must be divisible by nKvHeads)`);
  if (x.alibiSlopes) {
    const [n] = checkTensor(c, 'alibiSlopes', x.alibiSlopes, 'nHeads');
    c.require(n === nHeads, () => `alibiSlopes has ${n} slopes, expected one per query head (${nHeads})`);
  }
  if (x.keyPaddingMask) {
    const [mb, ml] = checkTensor(c, 'keyPaddingMask', x.keyPaddingMask, 'batch, seqlenK', ['float32', 'int32', 'bool']);
    c.require(mb === batch && ml === kvRows, () => `keyPaddingMask has shape ${c.shape([mb, ml])}, expected ${c.shape([batch, kvRows])} ([batch, seqlenK])`);
  }
  if (x.cuSeqlens) {
    const [entries] = checkTensor(c, 'cuSeqlens', x.cuSeqlens, 'nSeqs + 1', 'int32');
    c.require(kvRows === seqlen, () => `cuSeqlens (packed sequences) needs as many keys as queries, got seqlen ${seqlen} and seqlenK ${kvRows}`);
    c.require(entries >= 2, () => `cuSeqlens must have at least 2 entries [0, ..., seqlen], got ${entries}`);
    // the values are checked where reading them is free: the cpu backend holds them on the host
    // (webgpu and cuda cannot read synchronously without a stall; pass a host array there to have them checked)
    if (tf.getBackend() === 'cpu') checkCuSeqlens(c, x.cuSeqlens.dataSync(), seqlen);
  }
  c.attr('softmaxScale').number(attrs.scale, { finite: true });
  c.attr('causal').boolean(attrs.causal);
  c.attr('windowLeft').int(attrs.windowLeft, { min: -1 });
  c.attr('windowRight').int(attrs.windowRight, { min: -1 });
}

/** A tensor's shape as a plain number array (tfjs types a rank-generic shape as a tuple union). */
export function dims(t: Tensor): number[] {
  return t.shape as number[];
}
