/**
 * `flashAttention`: attention with grouped-query heads, causal or not, an optional ALiBi bias,
 * sliding window, key padding mask and packed sequences, computed in tiles with an online softmax
 * (memory linear in seqlen) and returning the log-sum-exp; its gradient is `flashAttentionBackward`.
 * Kernels: cpu and webgpu tiles, and CUDA (FlashAttention-2-style tiles in float32, split-KV for a
 * few queries; head dims above 256 fall back to the tfjs reference on cuda).
 */
import { compositeKernel, defineOp, tf } from '@falcon/tensor';
import type { Tensor, Tensor3D, Tensor4D } from '@falcon/tensor';
import type { AttentionAttrs } from './attention_attrs.js';
import { flashAttentionSignature } from './flash_attention_signature.js';
import type { FlashAttentionAttrs, FlashAttentionInputName, FlashAttentionOptionalName, FlashAttentionOutputName } from './flash_attention_signature.js';
import { flashAttentionBackwardOp } from './flash_attention_backward.js';
import { flashAttentionCpu } from './kernels/cpu/flash_attention.js';
import { withHeadDimFallback } from './kernels/cuda/addon.js';
import { flashAttentionCuda } from './kernels/cuda/flash_attention.js';
import { flashAttentionWebgpu } from './kernels/webgpu/flash_attention.js';
import { flashAttentionReference } from './reference/flash_attention.js';
import { check, checkAttention, checkCuSeqlens, dims } from './validate.js';

export type { AttentionAttrs } from './attention_attrs.js';

/** Options of {@link flashAttention}. */
export interface FlashAttentionOptions {
  /** Causal masking (default true); with seqlenK > seqlen the queries align to the end of the keys. */
  causal?: boolean;
  /** Multiplies q·kᵀ before the softmax (default `headDim^−0.5`). */
  softmaxScale?: number;
  /** ALiBi slopes `[nHeads]` (see {@link alibiSlopes}); adds `−slope·|t − s|` to the scores. Not differentiated. */
  alibiSlopes?: Tensor;
  /** Sliding window: keys more than `windowLeft` positions before the query are masked (default −1: none). */
  windowLeft?: number;
  /** Keys more than `windowRight` positions after the query are masked (default −1: none; causal implies 0). */
  windowRight?: number;
  /** Key padding mask `[batch, seqlenK]`: 1 keep, 0 masked (float32, int32 or bool). */
  keyPaddingMask?: Tensor;
  /**
   * Packed sequences: cumulative lengths `[nSeqs + 1]` (0 … seqlen), shared by every batch row;
   * needs seqlenK = seqlen. An int32 tensor, or host numbers (always checked; a tensor's values
   * are checked on cpu only, since webgpu cannot read them synchronously).
   */
  cuSeqlens?: Tensor | ArrayLike<number>;
}

/** What the attention ops return. */
export interface AttentionResult {
  /** The attention output `[batch, seqlen, nHeads, headDim]` (zeros for queries that see no key). */
  out: Tensor4D;
  /** Log-sum-exp of each query's scaled, biased scores `[batch, nHeads, seqlen]` (−∞ for queries that see no key). */
  lse: Tensor3D;
}

/**
 * The flash attention op (kernel `FalconFlashAttention`): inputs q, k, v and the optional
 * alibiSlopes, keyPaddingMask, cuSeqlens; outputs out and lse. Most callers use
 * {@link flashAttention}; this handle lets a backend package add kernels (`addKernel`).
 */
export const flashAttentionOp = defineOp<FlashAttentionInputName, FlashAttentionOptionalName, FlashAttentionAttrs, FlashAttentionOutputName>({
  ...flashAttentionSignature,
  validate: ({ q, k, v, ...x }, attrs) => checkAttention(check('flashAttention'), q, k, v, x, attrs),
  kernels: {
    cpu: flashAttentionCpu,
    webgpu: flashAttentionWebgpu,
    cuda: withHeadDimFallback(
      flashAttentionCuda,
      compositeKernel((t, attrs) => flashAttentionReference(t, attrs)),
      (t) => dims(t.q)[3],
    ),
  },
  grad: ({ dy, inputs, outputs, attrs }) => {
    const g = flashAttentionBackwardOp(
      {
        q: inputs.q,
        k: inputs.k,
        v: inputs.v,
        out: outputs.out,
        lse: outputs.lse,
        dout: dy.out,
        dlse: dy.lse,
        alibiSlopes: inputs.alibiSlopes,
        keyPaddingMask: inputs.keyPaddingMask,
        cuSeqlens: inputs.cuSeqlens,
      },
      { scale: attrs.scale, causal: attrs.causal, windowLeft: attrs.windowLeft, windowRight: attrs.windowRight, kvLength: -1 },
    );
    return { q: g.dq, k: g.dk, v: g.dv };
  },
});

/**
 * Attention `softmax(q·kᵀ·scale + bias + mask)·v` with grouped-query heads: KV head j serves query
 * heads j·(H/Hkv) … (j+1)·(H/Hkv)−1 (any ratio, MQA included). The CPU kernel works in 64×64 tiles
 * with an online softmax and never materialises the `[seqlen, seqlenK]` score matrix; the backward
 * recomputes scores tile by tile from the returned log-sum-exp. Differentiable in q, k and v.
 *
 * @param q - queries `[batch, seqlen, nHeads, headDim]`, float32
 * @param k - keys `[batch, seqlenK, nKvHeads, headDim]`
 * @param v - values `[batch, seqlenK, nKvHeads, headDim]`
 * @returns `out` `[batch, seqlen, nHeads, headDim]` and `lse` `[batch, nHeads, seqlen]`
 * @throws when ranks, head counts, shapes, masks or attributes are inconsistent (before any kernel runs)
 */
export function flashAttention(q: Tensor, k: Tensor, v: Tensor, options: FlashAttentionOptions = {}): AttentionResult {
  const attrs: AttentionAttrs = {
    scale: options.softmaxScale ?? (q.rank === 4 ? dims(q)[3] ** -0.5 : 1),
    causal: options.causal ?? true,
    windowLeft: options.windowLeft ?? -1,
    windowRight: options.windowRight ?? -1,
  };
  let cuSeqlens = options.cuSeqlens;
  const hostCu = cuSeqlens !== undefined && !(cuSeqlens instanceof tf.Tensor);
  if (hostCu) {
    checkCuSeqlens(check('flashAttention'), cuSeqlens as ArrayLike<number>, q.rank === 4 ? dims(q)[1] : NaN);
    cuSeqlens = tf.tensor1d(Array.from(cuSeqlens as ArrayLike<number>), 'int32');
  }
  try {
    const r = flashAttentionOp({ q, k, v, alibiSlopes: options.alibiSlopes, keyPaddingMask: options.keyPaddingMask, cuSeqlens: cuSeqlens as Tensor | undefined }, attrs);
    return { out: r.out as Tensor4D, lse: r.lse as Tensor3D };
  } finally {
    if (hostCu) (cuSeqlens as Tensor).dispose();
  }
}
