/** WebGPU kernel of `alibiBias`: one invocation per element, `−slope_h · |i + seqlenK − seqlenQ − j|`. */
import { webgpuKernel } from '@falcon/tensor';
import type { AlibiAttrs, AlibiBiasInputName, AlibiBiasOutputName } from '../../alibi_bias_signature.js';

/** The `alibiBias` WebGPU kernel. */
export const alibiBiasWebgpu = webgpuKernel<AlibiBiasInputName, never, AlibiAttrs, AlibiBiasOutputName>(({ inputs: { slopes }, attrs }) => {
  const h = slopes.shape[0];
  const { seqlenQ: l, seqlenK: lk } = attrs;
  return {
    bias: {
      name: 'FalconAlibiBias',
      inputs: { slopes },
      outputShape: [h, l, lk],
      dispatch: Math.max(1, Math.ceil((h * l * lk) / 64)),
      uniforms: { lq: { type: 'i32', value: l }, lk: { type: 'i32', value: lk } },
      shader: /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) {
    let j = index % uniforms.lk;
    let i = (index / uniforms.lk) % uniforms.lq;
    let h = index / (uniforms.lk * uniforms.lq);
    setOutputAtIndex(index, -slopes[h] * f32(abs(i + uniforms.lk - uniforms.lq - j)));
  }
}`,
    },
  };
});
