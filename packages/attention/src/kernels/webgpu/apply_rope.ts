/**
 * WebGPU kernel of `applyRope`: one invocation per output element. The angle is rounded to
 * float32 as transformers does; sin and cos are computed in the shader from a Cody–Waite
 * reduction by π/2 (π/2 split into pieces whose products with the quadrant count are exact up to
 * 2^20 quadrants, i.e. angles up to ~1.6e6) and minimax polynomials, because WGSL's built-in
 * sin/cos only promise 2⁻¹¹ absolute accuracy and lose far more at large angles.
 */
import { webgpuKernel } from '@falcon/tensor';
import type { ApplyRopeInputName, ApplyRopeOutputName, RopeAttrs } from '../../apply_rope_signature.js';

/** π/2 as five 4-significant-bit pieces plus a float32 remainder (≈ 44 bits in all). */
function piOver2Pieces(): number[] {
  const pieces: number[] = [];
  let rest = Math.PI / 2;
  for (let n = 0; n < 5; n++) {
    const unit = 2 ** (Math.floor(Math.log2(rest)) - 3);
    const piece = Math.floor(rest / unit) * unit;
    pieces.push(piece);
    rest -= piece;
  }
  pieces.push(Math.fround(rest));
  return pieces;
}

const lit = (x: number) => {
  const s = x.toPrecision(17);
  return s.includes('.') || s.includes('e') ? s : `${s}.0`;
};

const shader = /* wgsl */ `
fn sinCos(x: f32) -> vec2<f32> {
  let k = round(x * 0.63661977236758134);
  var r = x;
  ${piOver2Pieces()
    .map((c) => `r = r - k * ${lit(c)};`)
    .join('\n  ')}
  let r2 = r * r;
  let sn = r + r * r2 * (-1.6666654611e-1 + r2 * (8.3321608736e-3 + r2 * -1.9515295891e-4));
  let cs = 1.0 - 0.5 * r2 + r2 * r2 * (4.166664568298827e-2 + r2 * (-1.388731625493765e-3 + r2 * 2.443315711809948e-5));
  let quadrant = i32(k) & 3;
  if (quadrant == 0) { return vec2<f32>(sn, cs); }
  if (quadrant == 1) { return vec2<f32>(cs, -sn); }
  if (quadrant == 2) { return vec2<f32>(-sn, -cs); }
  return vec2<f32>(-cs, sn);
}

// x: [b, l, heads, hd]; positions: [b·l] or [l]; invFreq: [half]
fn main(index: i32) {
  if (index < uniforms.size) {
    let d = index % uniforms.hd;
    if (d >= 2 * uniforms.half) {
      setOutputAtIndex(index, x[index]);
    } else {
      let bt = index / (uniforms.hd * uniforms.heads);
      var pi = bt;
      if (uniforms.perBatch == 0) { pi = bt % uniforms.seq; }
      let jj = d % uniforms.half;
      let sc = sinCos(f32(positions[pi]) * invFreq[jj]);
      let c = sc.y * uniforms.scaling;
      let s = sc.x * uniforms.sinScaling;
      let base = index - d;
      let x1 = x[base + jj];
      let x2 = x[base + jj + uniforms.half];
      if (d < uniforms.half) {
        setOutputAtIndex(index, x1 * c - x2 * s);
      } else {
        setOutputAtIndex(index, x2 * c + x1 * s);
      }
    }
  }
}`;

/** The `applyRope` WebGPU kernel. */
export const applyRopeWebgpu = webgpuKernel<ApplyRopeInputName, never, RopeAttrs, ApplyRopeOutputName>(({ inputs: { x, positions }, attrs, backend, run }) => {
  const [, seq, heads, hd] = x.shape;
  const half = attrs.invFreq.length;
  const size = x.shape.reduce((a, b) => a * b, 1);
  // the frequencies travel as a small tensor, released once the program is queued
  const invFreq = { dataId: backend.write(new Float32Array(attrs.invFreq), [half], 'float32'), shape: [half], dtype: 'float32' as const };
  try {
    const y = run({
      name: 'FalconApplyRope',
      inputs: { x, positions, invFreq },
      outputShape: x.shape,
      dispatch: Math.max(1, Math.ceil(size / 64)),
      uniforms: {
        seq: { type: 'i32', value: seq },
        heads: { type: 'i32', value: heads },
        hd: { type: 'i32', value: hd },
        half: { type: 'i32', value: half },
        perBatch: { type: 'i32', value: positions.shape.length === 2 ? 1 : 0 },
        scaling: { type: 'f32', value: attrs.attentionScaling },
        sinScaling: { type: 'f32', value: attrs.inverse ? -attrs.attentionScaling : attrs.attentionScaling },
      },
      shader,
    });
    return { y };
  } finally {
    backend.disposeData(invFreq.dataId);
  }
});
