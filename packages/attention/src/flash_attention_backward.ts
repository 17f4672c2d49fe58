/**
 * `flashAttentionBackward`: the gradient of `flashAttention` and `decodeAttention` as an op of its
 * own (dq, dk, dv from q, k, v, the forward's out and lse, and the output gradients), with tiled
 * CPU, WebGPU and CUDA kernels that recompute scores tile by tile (FlashAttention-2), and the
 * materialising formulas of the reference as the CUDA fallback for head dims above 256.
 */
import { compositeKernel, defineOp, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { AttentionBackwardAttrs } from './kernels/cpu/flash_attention_backward.js';
import { flashAttentionBackwardCpu } from './kernels/cpu/flash_attention_backward.js';
import { withHeadDimFallback } from './kernels/cuda/addon.js';
import { flashAttentionBackwardCuda } from './kernels/cuda/flash_attention_backward.js';
import { flashAttentionBackwardWebgpu } from './kernels/webgpu/flash_attention_backward.js';
import { flashAttentionBackwardReference } from './reference/flash_attention_backward.js';
import { checkAttention, checkInt, dims, fail } from './validate.js';

export type { AttentionBackwardAttrs } from './kernels/cpu/flash_attention_backward.js';

const FN = 'flashAttentionBackward';

/** The reference formulas on the first `kvLength` keys, zero-padded (cuda's fallback for head dims above 256). */
const backwardComposite = compositeKernel<
  'q' | 'k' | 'v' | 'out' | 'lse' | 'dout' | 'dlse',
  'alibiSlopes' | 'keyPaddingMask' | 'cuSeqlens',
  AttentionBackwardAttrs,
  'dq' | 'dk' | 'dv'
>((t, attrs) => {
  const rows = dims(t.k)[1];
  const n = attrs.kvLength >= 0 ? attrs.kvLength : rows;
  const cut = (x: Tensor, axis1Len: number) => (n === axis1Len ? x : tf.slice(x, 0, [dims(x)[0], n, ...dims(x).slice(2)]));
  const g = flashAttentionBackwardReference(
    { ...t, k: cut(t.k, rows), v: cut(t.v, rows) }, // the reference reads the mask's first n columns
    attrs,
  );
  const pad = (x: Tensor) => (n === rows ? x : tf.pad(x, [[0, 0], [0, rows - n], [0, 0], [0, 0]]));
  return { dq: g.dq, dk: pad(g.dk), dv: pad(g.dv) };
});

/**
 * The attention backward op. Inputs: q `[batch, seqlen, nHeads, headDim]`, k and v
 * `[batch, seqlenK, nKvHeads, headDim]` (or a cache of `capacity` rows with `kvLength` in use),
 * out `[batch, seqlen, nHeads, headDim]`, lse `[batch, nHeads, seqlen]`, their gradients dout and
 * dlse, and the forward's optional alibiSlopes, keyPaddingMask and cuSeqlens. Outputs dq (like q),
 * dk and dv (like k, summed over each KV group's query heads; zero beyond `kvLength`). Not itself
 * differentiable.
 */
export const flashAttentionBackwardOp = defineOp<
  'q' | 'k' | 'v' | 'out' | 'lse' | 'dout' | 'dlse',
  'alibiSlopes' | 'keyPaddingMask' | 'cuSeqlens',
  AttentionBackwardAttrs,
  'dq' | 'dk' | 'dv'
>({
  name: 'FalconFlashAttentionBackward',
  inputs: ['q', 'k', 'v', 'out', 'lse', 'dout', 'dlse'],
  optionalInputs: ['alibiSlopes', 'keyPaddingMask', 'cuSeqlens'],
  outputs: ['dq', 'dk', 'dv'],
  validate: ({ q, k, v, out, lse, dout, dlse, ...x }, attrs) => {
    checkAttention(FN, q, k, v, x, attrs);
    checkInt(FN, 'kvLength', attrs.kvLength, -1);
    if (attrs.kvLength > dims(k)[1]) fail(FN, `kvLength ${attrs.kvLength} exceeds the ${dims(k)[1]} rows of k`);
    const [b, l, h] = q.shape;
    for (const [name, t, want] of [
      ['out', out, q.shape],
      ['dout', dout, q.shape],
      ['lse', lse, [b, h, l]],
      ['dlse', dlse, [b, h, l]],
    ] as const) {
      if (!tf.util.arraysEqual(t.shape, want as number[]) || t.dtype !== 'float32') fail(FN, `${name} must be float32 of shape [${want}], got ${t.dtype} [${t.shape}]`);
    }
  },
  kernels: {
    cpu: flashAttentionBackwardCpu,
    webgpu: flashAttentionBackwardWebgpu,
    cuda: withHeadDimFallback(flashAttentionBackwardCuda, backwardComposite, (t) => dims(t.q)[3]),
  },
});
