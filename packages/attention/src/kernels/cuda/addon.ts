/**
 * The `@falcon/attention` CUDA addon (`csrc/`, built by `tools/build-cuda.mjs` into
 * `build/falcon_attention_cuda.node`), loaded on first use by the ops' `cuda` kernels, and the
 * argument list of an attention problem that its attention functions share.
 */
import { cudaExtension } from '@falcon/tensor';
import type { CudaExtensionAddon, CudaKernelContext, OpInputs, OpKernel, Tensor } from '@falcon/tensor';
import type { AttentionAttrs } from '../../attention_attrs.js';

/**
 * An attention problem as the addon reads it (csrc/addon.cpp `readProblem`): device pointers of
 * the optional inputs (0 when absent), the key padding mask's element type, the sizes and the
 * attributes.
 */
export type ProblemArgs = [
  slopes: number,
  keyPaddingMask: number,
  maskType: number,
  cuSeqlens: number,
  nCu: number,
  batch: number,
  seqlenQ: number,
  seqlenK: number,
  kvRows: number,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  scale: number,
  causal: number,
  windowLeft: number,
  windowRight: number,
];

/** The addon's functions. Pointers are device pointers; `stream` is the backend's stream. */
export interface AttentionCudaAddon extends CudaExtensionAddon {
  /** Scratch floats `forward` needs for this problem (the split-KV path of few queries; else 0). */
  forwardScratchFloats(...problem: ProblemArgs): number;
  /** out `[B, L, H, D]` and lse `[B, H, L]` from q `[B, L, H, D]`, k, v `[B, kvRows, HK, D]` (csrc/flash_attention.cu). */
  forward(stream: number, q: number, k: number, v: number, out: number, lse: number, scratch: number, ...problem: ProblemArgs): void;
  /** Scratch floats `backward` needs for this problem. */
  backwardScratchFloats(...problem: ProblemArgs): number;
  /** dq like q, dk and dv like k (zero beyond row LK) (csrc/flash_attention_backward.cu); dlse 0 reads as zeros. */
  backward(
    stream: number,
    q: number,
    k: number,
    v: number,
    out: number,
    dout: number,
    lse: number,
    dlse: number,
    dq: number,
    dk: number,
    dv: number,
    scratch: number,
    ...problem: ProblemArgs
  ): void;
  /** y = RoPE(x) for x, y `[B, L, H, D]` at int32 positions `[B, L]` (perBatch) or `[L]` (csrc/apply_rope.cu). */
  applyRope(
    stream: number,
    x: number,
    positions: number,
    y: number,
    batch: number,
    seqlen: number,
    heads: number,
    headDim: number,
    perBatch: boolean,
    invFreq: Float32Array,
    attentionScaling: number,
    inverse: boolean,
  ): void;
  /** bias `[H, L, LK]` from slopes `[H]` (csrc/alibi_bias.cu). */
  alibiBias(stream: number, slopes: number, bias: number, nHeads: number, seqlenQ: number, seqlenK: number): void;
}

/** The addon (src/ and dist/ are both three folders below the package). */
export const attentionCuda = cudaExtension<AttentionCudaAddon>('attention', new URL('../../../build/falcon_attention_cuda.node', import.meta.url).href);

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

/** The {@link ProblemArgs} of a problem (uploads the optional inputs' data if it is still on the host). */
export function problemArgs(ctx: CudaKernelContext, t: CudaAttentionProblem, attrs: AttentionAttrs): ProblemArgs {
  const [batch, seqlenQ, nHeads, headDim] = t.q.shape as number[];
  const [, kvRows, nKvHeads] = t.k.shape as number[];
  return [
    ctx.ptr(t.slopes),
    ctx.ptr(t.keyPaddingMask),
    t.keyPaddingMask ? MASK_TYPES[t.keyPaddingMask.dtype] : 0,
    ctx.ptr(t.cuSeqlens),
    t.cuSeqlens ? t.cuSeqlens.shape[0] : 0,
    batch,
    seqlenQ,
    t.seqlenK,
    kvRows,
    nHeads,
    nKvHeads,
    headDim,
    attrs.scale,
    attrs.causal ? 1 : 0,
    attrs.windowLeft,
    attrs.windowRight,
  ];
}
