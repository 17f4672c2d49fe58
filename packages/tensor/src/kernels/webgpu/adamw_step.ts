/**
 * AdamW step on WebGPU: three flat element-wise programs, one per output (the kit writes one
 * output per program): m' and v' from the gradient (times the clip coefficient, when given), then
 * p' from p, m' and v'. The float32 constants come from `adamwConstants` through uniforms.
 */
import * as tf from '@tensorflow/tfjs-core';
import { webgpuKernel } from '../../op/webgpu/kernel.js';
import type { WebgpuProgram } from '../../op/webgpu/program.js';
import type { AdamwStepAttrs, AdamwStepInputName, AdamwStepOptionalName, AdamwStepOutputName } from '../../adamw_step_signature.js';
import { adamwConstants } from '../../adamw_step_signature.js';

const WG = 64;

/** The gradient as the shaders read it: times `gradScale[0]` when a clip coefficient is given. */
const gradExpr = (scaled: boolean) => (scaled ? 'grad[index] * gradScale[0]' : 'grad[index]');

const momentShader = (scaled: boolean, second: boolean) => /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) {
    let g = ${gradExpr(scaled)};
    ${second ? 'setOutputAtIndex(index, v[index] * uniforms.beta + (g * g) * uniforms.omb);' : 'setOutputAtIndex(index, m[index] * uniforms.beta + g * uniforms.omb);'}
  }
}`;

const paramShader = (decayed: boolean) => /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) {
    let update = (mOut[index] / uniforms.bc1) / (sqrt(vOut[index] / uniforms.bc2) + uniforms.eps);
    let p = ${decayed ? 'param[index] * uniforms.decay' : 'param[index]'};
    setOutputAtIndex(index, p - update * uniforms.lr);
  }
}`;

/** WebGPU kernel of `FalconAdamwStep`. @internal */
export const adamwStepWebgpu = webgpuKernel<AdamwStepInputName, AdamwStepOptionalName, AdamwStepAttrs, AdamwStepOutputName>(
  ({ inputs: { param, grad, m, v, gradScale }, attrs, run }) => {
    const k = adamwConstants(attrs);
    const n = tf.util.sizeFromShape(param.shape);
    const flat = [n];
    const scaled = gradScale !== undefined;
    const gIn = { grad: { ...grad, shape: flat }, ...(scaled ? { gradScale: { ...gradScale, shape: [1] } } : {}) };
    const moment = (second: boolean): WebgpuProgram => ({
      name: second ? 'FalconAdamwStepV' : 'FalconAdamwStepM',
      inputs: second ? { v: { ...v, shape: flat }, ...gIn } : { m: { ...m, shape: flat }, ...gIn },
      outputShape: flat,
      workgroupSize: [WG],
      dispatch: Math.max(1, Math.ceil(n / WG)),
      uniforms: { beta: { type: 'f32', value: second ? k.b2 : k.b1 }, omb: { type: 'f32', value: second ? k.omb2 : k.omb1 } },
      shader: () => momentShader(scaled, second),
      cacheKey: `${scaled}`,
    });
    const mOut = run(moment(false));
    const vOut = run(moment(true));
    const decayed = k.decay !== 1;
    const paramOut = run({
      name: 'FalconAdamwStepP',
      inputs: { param: { ...param, shape: flat }, mOut, vOut },
      outputShape: flat,
      workgroupSize: [WG],
      dispatch: Math.max(1, Math.ceil(n / WG)),
      uniforms: {
        bc1: { type: 'f32', value: k.bc1 },
        bc2: { type: 'f32', value: k.bc2 },
        eps: { type: 'f32', value: k.eps },
        lr: { type: 'f32', value: k.lr },
        decay: { type: 'f32', value: k.decay },
      },
      shader: () => paramShader(decayed),
      cacheKey: `${decayed}`,
    });
    const shape = param.shape;
    return { paramOut: { ...paramOut, shape }, mOut: { ...mOut, shape }, vOut: { ...vOut, shape } };
  },
);
