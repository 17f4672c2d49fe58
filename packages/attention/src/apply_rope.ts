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
import { applyRopeSignature } from './apply_rope_signature.js';
import type { ApplyRopeInputName, ApplyRopeOutputName, RopeAttrs } from './apply_rope_signature.js';
import type { RopeFrequencies } from './rope_frequencies.js';
import { check, checkTensor } from './validate.js';

const FN = 'applyRope';

/**
 * The RoPE op (kernel `FalconApplyRope`): inputs x and positions, attributes invFreq,
 * attentionScaling and inverse; output y. Most callers use {@link applyRope}.
 */
export const applyRopeOp: Op<ApplyRopeInputName, never, RopeAttrs, ApplyRopeOutputName> = defineOp<ApplyRopeInputName, never, RopeAttrs, ApplyRopeOutputName>({
  ...applyRopeSignature,
  validate: ({ x, positions }, { invFreq, attentionScaling }) => {
    const c = check(FN);
    const [b, l, , d] = checkTensor(c, 'x', x, 'batch, seqlen, heads, headDim');
    c.require(positions.dtype === 'int32', () => `positions must be int32, got ${positions.dtype}`);
    const okShape = positions.rank === 1 ? positions.shape[0] === l : positions.rank === 2 && positions.shape[0] === b && positions.shape[1] === l;
    c.require(okShape, () => `positions has shape ${c.shape(positions.shape)}, expected [${l}] ([seqlen]) or [${b},${l}] ([batch, seqlen])`);
    const ok = Array.isArray(invFreq) && invFreq.length >= 1 && 2 * invFreq.length <= d;
    c.require(ok, () => `the rotary dim (2 × ${Array.isArray(invFreq) ? invFreq.length : '?'} frequencies) must be between 2 and headDim ${d}`);
    c.attr('attentionScaling').number(attentionScaling, { finite: true });
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
