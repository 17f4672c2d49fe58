/**
 * The `@falcon/attention` CUDA addon (`csrc/`, built by `tools/build-cuda.mjs` into
 * `build/falcon_attention_cuda.node`), loaded on first use by the ops' `cuda` kernels, with its
 * functions and their named parameters (checked against the addon's bindings when it is loaded),
 * and the fields of an attention problem that its attention functions share.
 */
import { cudaExtension, nativeKernel, nativeQuery } from '@falcon/tensor';
import type { CudaKernelContext, NativeAddon, NativeParams, OpInputs, OpKernel, Tensor } from '@falcon/tensor';
import type { AttentionAttrs } from '../../attention_attrs.js';

const ptr = 'ptr' as const;
const i32 = 'i32' as const;

/**
 * An attention problem as the addon reads it (the `FALCON_ATTENTION_PROBLEM_FIELDS` of
 * csrc/addon.cpp): device pointers of the optional inputs (0 when absent), the key padding mask's
 * element type (1 float32, 2 int32, 3 bool; 0 without a mask), the number of cuSeqlens entries, the
 * sizes, the attributes, and `bf16`: the bf16 tensor-core kernels (the backend's `matmulPrecision`
 * 'bf16') for head dims ≤ 128, float32 CUDA cores otherwise.
 */
const problemFields = {
  slopes: ptr,
  keyPaddingMask: ptr,
  maskType: i32,
  cuSeqlens: ptr,
  nCu: i32,
  batch: i32,
  seqlenQ: i32,
  seqlenK: i32,
  kvRows: i32,
  nHeads: i32,
  nKvHeads: i32,
  headDim: i32,
  scale: 'f32',
  causal: 'bool',
  windowLeft: i32,
  windowRight: i32,
  bf16: 'bool',
} as const;

/** The addon's functions, by export name. Pointers are device pointers; the kit passes the stream. */
export const attentionFunctions = {
  /** Scratch floats `forward` needs for this problem (the split-KV path of few queries; else 0). */
  forwardScratchFloats: nativeQuery(problemFields),
  /** out `[B, L, H, D]` and lse `[B, H, L]` from q `[B, L, H, D]`, k, v `[B, kvRows, HK, D]` (csrc/flash_attention.cu). */
  forward: nativeKernel({ q: ptr, k: ptr, v: ptr, out: ptr, lse: ptr, scratch: ptr, ...problemFields }),
  /** Scratch floats `backward` needs for this problem. */
  backwardScratchFloats: nativeQuery(problemFields),
  /** dq like q, dk and dv like k (zero beyond row LK) (csrc/flash_attention_backward.cu); dlse 0 reads as zeros. */
  backward: nativeKernel({ q: ptr, k: ptr, v: ptr, out: ptr, dout: ptr, lse: ptr, dlse: ptr, dq: ptr, dk: ptr, dv: ptr, scratch: ptr, ...problemFields }),
  /** y = RoPE(x) for x, y `[B, L, H, D]` at int32 positions `[B, L]` (perBatch) or `[L]` (csrc/apply_rope.cu). */
  applyRope: nativeKernel({
    x: ptr,
    positions: ptr,
    y: ptr,
    batch: i32,
    seqlen: i32,
    heads: i32,
    headDim: i32,
    perBatch: 'bool',
    invFreq: 'f32[]',
    attentionScaling: 'f32',
    inverse: 'bool',
  }),
  /** bias `[H, L, LK]` from slopes `[H]` (csrc/alibi_bias.cu). */
  alibiBias: nativeKernel({ slopes: ptr, bias: ptr, nHeads: i32, seqlenQ: i32, seqlenK: i32 }),
};

/** The declarations of the addon's functions (the first type argument of this package's `cudaKernel`s). */
export type AttentionFunctions = typeof attentionFunctions;

/** The addon's functions as a kernel calls them (named parameters). */
export type AttentionCudaAddon = NativeAddon<AttentionFunctions>;

/** The fields of one attention problem (see `problemFields`). */
export type ProblemParams = NativeParams<typeof problemFields>;

/** The addon (src/ and dist/ are both three folders below the package). */
export const attentionCuda = cudaExtension('attention', new URL('../../../build/falcon_attention_cuda.node', import.meta.url).href, attentionFunctions);

/** Largest head dim of the CUDA attention kernels (csrc/attention.h `kMaxHeadDim`); larger ones take the reference. */
export const CUDA_MAX_HEAD_DIM = 256;

/**
 * A `cuda` kernel that hands problems with a head dim above {@link CUDA_MAX_HEAD_DIM} to
 * `fallback` (the op's tfjs reference, which materialises the scores: only for such head dims).
 */
export function withHeadDimFallback<I extends string, O extends string, A, Out extends string>(
  kernel: OpKernel<I, O, A, Out>,
  fallback: OpKernel<I, O, A, Out>,
  headDim: (inputs: OpInputs<I, O>) => number,
): OpKernel<I, O, A, Out> {
  return (args) => (headDim(args.inputs) > CUDA_MAX_HEAD_DIM ? fallback(args) : kernel(args));
}

const MASK_TYPES: Record<string, number> = { float32: 1, int32: 2, bool: 3 };

/** The tensors and sizes of one attention problem on the device. */
export interface CudaAttentionProblem {
  /** `[batch, seqlen, nHeads, headDim]` */
  q: Tensor;
  /** `[batch, kvRows, nKvHeads, headDim]` (k or the key cache) */
  k: Tensor;
  /** ALiBi slopes `[nHeads]` */
  slopes?: Tensor;
  /** Key padding mask `[batch, kvRows]` (float32, int32 or bool) */
  keyPaddingMask?: Tensor;
  /** Packed sequences, int32 `[nSeqs + 1]` */
  cuSeqlens?: Tensor;
  /** Keys that take part: the first `seqlenK` of the kvRows rows. */
  seqlenK: number;
}

/** The {@link ProblemParams} of a problem (uploads the optional inputs' data if it is still on the host). */
export function problemParams(ctx: CudaKernelContext, t: CudaAttentionProblem, attrs: AttentionAttrs): ProblemParams {
  const [batch, seqlenQ, nHeads, headDim] = t.q.shape as number[];
  const [, kvRows, nKvHeads] = t.k.shape as number[];
  return {
    slopes: ctx.ptr(t.slopes),
    keyPaddingMask: ctx.ptr(t.keyPaddingMask),
    maskType: t.keyPaddingMask ? MASK_TYPES[t.keyPaddingMask.dtype] : 0,
    cuSeqlens: ctx.ptr(t.cuSeqlens),
    nCu: t.cuSeqlens ? t.cuSeqlens.shape[0] : 0,
    batch,
    seqlenQ,
    seqlenK: t.seqlenK,
    kvRows,
    nHeads,
    nKvHeads,
    headDim,
    scale: attrs.scale,
    causal: !!attrs.causal,
    windowLeft: attrs.windowLeft,
    windowRight: attrs.windowRight,
    bf16: ctx.backend.matmulPrecision === 'bf16',
  };
}
