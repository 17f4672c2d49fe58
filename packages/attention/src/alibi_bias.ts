/**
 * `alibiBias`: the ALiBi score bias `[nHeads, seqlenQ, seqlenK]` from per-head slopes, for callers
 * that want the bias itself (flashAttention applies ALiBi inside its kernel without materialising it).
 * Kernels: cpu, webgpu and CUDA.
 */
import { defineOp, tf } from '@falcon/tensor';
import type { Tensor, Tensor3D } from '@falcon/tensor';
import { alibiBiasSignature } from './alibi_bias_signature.js';
import type { AlibiAttrs, AlibiBiasInputName, AlibiBiasOutputName } from './alibi_bias_signature.js';
import { alibiBiasCpu } from './kernels/cpu/alibi_bias.js';
import { alibiBiasCuda } from './kernels/cuda/alibi_bias.js';
import { alibiBiasWebgpu } from './kernels/webgpu/alibi_bias.js';
import { alibiDistance } from './reference/alibi_bias.js';
import { check, checkTensor } from './validate.js';

/** The ALiBi bias op (kernel `FalconAlibiBias`): input slopes, attributes seqlenQ and seqlenK, output bias. */
export const alibiBiasOp = defineOp<AlibiBiasInputName, never, AlibiAttrs, AlibiBiasOutputName>({
  ...alibiBiasSignature,
  validate: ({ slopes }, { seqlenQ, seqlenK }) => {
    const c = check('alibiBias');
    checkTensor(c, 'slopes', slopes, 'nHeads');
    c.attr('seqlenQ').int(seqlenQ, { min: 1 });
    c.attr('seqlenK').int(seqlenK, { min: 1 });
  },
  kernels: { cpu: alibiBiasCpu, webgpu: alibiBiasWebgpu, cuda: alibiBiasCuda },
  grad: ({ dy, attrs }) => ({ slopes: tf.neg(tf.sum(tf.mul(dy.bias, alibiDistance(attrs.seqlenQ, attrs.seqlenK)), [1, 2])) }),
});

/**
 * The ALiBi bias `bias[h, i, j] = −slope_h · |i + seqlenK − seqlenQ − j|`: queries are aligned to
 * the end of the keys, so for causal attention this is `−slope·(t − s)`. Differentiable in slopes.
 *
 * @param slopes - `[nHeads]` (see {@link alibiSlopes})
 * @param seqlenQ - number of queries `seqlen`
 * @param seqlenK - number of keys `seqlenK` (default seqlenQ)
 * @returns `[nHeads, seqlenQ, seqlenK]`
 */
export function alibiBias(slopes: Tensor, seqlenQ: number, seqlenK: number = seqlenQ): Tensor3D {
  return alibiBiasOp({ slopes }, { seqlenQ, seqlenK }).bias as Tensor3D;
}
