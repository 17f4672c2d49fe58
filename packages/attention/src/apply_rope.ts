/**
 * `applyRope`: rotary position embeddings on q or k `[batch, seqlen, heads, headDim]` at explicit
 * positions (so decode steps and packed sequences rotate each token by its own position), with
 * the frequencies of {@link ropeFrequencies}. Its gradient is the inverse rotation (the same op).
 * Kernels: cpu, webgpu and CUDA.
 */
import { defineOp } from '@falcon/tensor';
import type { Op, Tensor, Tensor4D } from '@falcon/tensor';
import { applyRopeCpu } from './kernels/cpu/apply_rope.js';
import { applyRopeCuda } from './kernels/cuda/apply_rope.js';
import { applyRopeWebgpu } from './kernels/webgpu/apply_rope.js';
import type { RopeAttrs } from './reference/apply_rope.js';
import type { RopeFrequencies } from './rope_frequencies.js';
import { checkTensor, fail } from './validate.js';

const FN = 'applyRope';

/**
 * The RoPE op (kernel `FalconApplyRope`): inputs x and positions, attributes invFreq,
 * attentionScaling and inverse; output y. Most callers use {@link applyRope}.
 */
export const applyRopeOp: Op<'x' | 'positions', never, RopeAttrs, 'y'> = defineOp<'x' | 'positions', never, RopeAttrs, 'y'>({
  name: 'FalconApplyRope',
  inputs: ['x', 'positions'],
  outputs: ['y'],
  validate: ({ x, positions }, { invFreq, attentionScaling }) => {
    checkTensor(FN, 'x', x, 'batch, seqlen, heads, headDim');
    const [b, l, , d] = x.shape;
    if (positions.dtype !== 'int32') fail(FN, `positions must be int32, got ${positions.dtype}`);
    const okShape = positions.rank === 1 ? positions.shape[0] === l : positions.rank === 2 && positions.shape[0] === b && positions.shape[1] === l;
    if (!okShape) fail(FN, `positions has shape [${positions.shape}], expected [${l}] ([seqlen]) or [${b},${l}] ([batch, seqlen])`);
    if (!Array.isArray(invFreq) || invFreq.length < 1 || 2 * invFreq.length > d) {
      fail(FN, `the rotary dim (2 × ${Array.isArray(invFreq) ? invFreq.length : '?'} frequencies) must be between 2 and headDim ${d}`);
    }
    if (typeof attentionScaling !== 'number' || !Number.isFinite(attentionScaling)) fail(FN, `attentionScaling must be a finite number, got ${String(attentionScaling)}`);
  },
  kernels: { cpu: applyRopeCpu, webgpu: applyRopeWebgpu, cuda: applyRopeCuda },
  grad: ({ dy, inputs, attrs }) => ({
    x: applyRopeOp({ x: dy.y, positions: inputs.positions }, { invFreq: attrs.invFreq, attentionScaling: attrs.attentionScaling, inverse: !attrs.inverse }).y,
  }),
});

/**
 * Rotate x by RoPE at the given positions: for each token, head and rotary pair (j, j + rotaryDim/2),
 * `y = x·cos(pos·invFreq_j)·s + rotate_half(x)·sin(pos·invFreq_j)·s` (s = attentionScaling);
 * dims beyond rotaryDim pass through. Differentiable in x.
 *
 * @param x - q `[batch, seqlen, nHeads, headDim]` or k `[batch, seqlen, nKvHeads, headDim]`, float32
 * @param positions - int32 token positions `[batch, seqlen]` or `[seqlen]` (shared by the batch)
 * @param freqs - from {@link ropeFrequencies}
 * @returns `[batch, seqlen, heads, headDim]`
 */
export function applyRope(x: Tensor, positions: Tensor, freqs: RopeFrequencies): Tensor4D {
  return applyRopeOp({ x, positions }, { invFreq: Array.from(freqs.invFreq), attentionScaling: freqs.attentionScaling, inverse: false }).y as Tensor4D;
}
