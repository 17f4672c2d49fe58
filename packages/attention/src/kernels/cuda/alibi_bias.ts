/** CUDA kernel of `alibiBias` (csrc/alibi_bias.cu): one thread per element of `−slope_h · |i + seqlenK − seqlenQ − j|`. */
import { cudaKernel } from '@falcon/tensor';
import type { AlibiAttrs } from '../../alibi_bias_signature.js';
import type { AttentionFunctions } from './addon.js';
import { attentionCuda } from './addon.js';

/** The `alibiBias` CUDA kernel: slopes `[nHeads]` → bias `[nHeads, seqlenQ, seqlenK]`. */
export const alibiBiasCuda = cudaKernel<AttentionFunctions, 'slopes', never, AlibiAttrs, 'bias'>(attentionCuda, (addon, ctx, { slopes }, { seqlenQ, seqlenK }) => {
  const nHeads = slopes.shape[0];
  const bias = ctx.output([nHeads, seqlenQ, seqlenK]);
  addon.alibiBias({ slopes: ctx.ptr(slopes), bias: ctx.ptr(bias), nHeads, seqlenQ, seqlenK });
  return { bias };
});
