/**
 * `flashAttentionBackward`: the gradient of `flashAttention` and `decodeAttention` as an op of its
 * own (dq, dk, dv from q, k, v, the forward's out and lse, and the output gradients), with tiled
 * CPU, WebGPU and CUDA kernels that recompute scores tile by tile (FlashAttention-2), and the
 * materialising formulas of the reference as the CUDA fallback for head dims above 256.
 */
import { compositeKernel, defineOp, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { flashAttentionBackwardSignature } from './flash_attention_backward_signature.js';
import type {
  AttentionBackwardAttrs,
  FlashAttentionBackwardInputName,
  FlashAttentionBackwardOptionalName,
  FlashAttentionBackwardOutputName,
} from './flash_attention_backward_signature.js';
import { flashAttentionBackwardCpu } from './kernels/cpu/flash_attention_backward.js';
import { withHeadDimFallback } from './kernels/cuda/addon.js';
import { flashAttentionBackwardCuda } from './kernels/cuda/flash_attention_backward.js';
import { flashAttentionBackwardWebgpu } from './kernels/webgpu/flash_attention_backward.js';
import { flashAttentionBackwardReference } from './reference/flash_attention_backward.js';
import { check, checkAttention, dims } from './validate.js';

export type { AttentionBackwardAttrs } from './flash_attention_backward_signature.js';

const FN = 'flashAttentionBackward';

/** The reference formulas on the first `kvLength` keys, zero-padded (cuda's fallback for head dims above 256). */
const backwardComposite = compositeKernel<FlashAttentionBackwardInputName, FlashAttentionBackwardOptionalName, AttentionBackwardAttrs, FlashAttentionBackwardOutputName>((t, attrs) => {
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
export const flashAttentionBackwardOp = defineOp<FlashAttentionBackwardInputName, FlashAttentionBackwardOptionalName, AttentionBackwardAttrs, FlashAttentionBackwardOutputName>({
  ...flashAttentionBackwardSignature,
  validate: ({ q, k, v, out, lse, dout, dlse, ...x }, attrs) => {
    const c = check(FN);
    checkAttention(c, q, k, v, x, attrs);
    c.attr('kvLength').int(attrs.kvLength, { min: -1 });
    c.require(attrs.kvLength <= dims(k)[1], () => `kvLength ${attrs.kvLength} exceeds the ${dims(k)[1]} rows of k`);
    const [b, l, h] = dims(q);
    const rows = { dims: ['batch', 'seqlen', 'nHeads', 'headDim'], shape: dims(q) };
    const lseRows = { dims: ['batch', 'nHeads', 'seqlen'], shape: [b, h, l] };
    c.arg('out').tensor(out, rows);
    c.arg('dout').tensor(dout, rows);
    c.arg('lse').tensor(lse, lseRows);
    c.arg('dlse').tensor(dlse, lseRows);
  },
  kernels: {
    cpu: flashAttentionBackwardCpu,
    webgpu: flashAttentionBackwardWebgpu,
    cuda: withHeadDimFallback(flashAttentionBackwardCuda, backwardComposite, (t) => dims(t.q)[3]),
  },
});
