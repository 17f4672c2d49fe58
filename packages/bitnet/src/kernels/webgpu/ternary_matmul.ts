/**
 * WebGPU kernel of {@link ternaryMatmul}: one workgroup per packed byte row r (the four weight rows
 * r, r+R, r+2R, r+3R) and tile of 4 tokens. Its 64 invocations stride over the row's 32-bit words
 * (coalesced, 2 bits per weight read from memory), decode the four codes of each byte and
 * accumulate in i32 for every token of the tile; a tree reduction in workgroup memory gives the 16
 * sums, written to y[m, r + j·R]. Exact integer arithmetic (|sum| ≤ 2·128·65536 < 2^31).
 */
import { webgpuKernel } from '@falcon/tensor';
import type { TernaryMatmulAttrs, TernaryMatmulInputName, TernaryMatmulOutputName } from '../../ternary_matmul_signature.js';

const WG = 64;
/** Tokens per workgroup. */
const TOKENS = 4;
/** Byte rows per grid column before folding into the z dimension (grid dimensions ≤ 65535). */
const FOLD = 32768;

// x: [M·K] int32, packed: [words] int32; result: [M·N] int32.
const shader = /* wgsl */ `
const WG: u32 = ${WG}u;
const T: i32 = ${TOKENS};
var<workgroup> partial: array<i32, ${WG * TOKENS * 4}>;
fn main() {
  let r = i32(workgroupId.x) + i32(workgroupId.z) * ${FOLD};
  let m0 = i32(workgroupId.y) * T;
  let lid = i32(localId.x);
  let K = uniforms.k;
  let M = uniforms.m;
  let N = uniforms.n;
  let R = uniforms.rows;
  var acc: array<i32, ${TOKENS * 4}>;
  for (var i = 0; i < T * 4; i = i + 1) { acc[i] = 0; }
  if (r < R) {
    let b0 = r * K;
    let wEnd = (b0 + K + 3) / 4;
    for (var wi = b0 / 4 + lid; wi < wEnd; wi = wi + i32(WG)) {
      let word = bitcast<u32>(packed[wi]);
      for (var e = 0; e < 4; e = e + 1) {
        let k = wi * 4 + e - b0;
        if (k >= 0 && k < K) {
          let byte = (word >> u32(8 * e)) & 255u;
          let c0 = i32(byte & 3u) - 1;
          let c1 = i32((byte >> 2u) & 3u) - 1;
          let c2 = i32((byte >> 4u) & 3u) - 1;
          let c3 = i32(byte >> 6u) - 1;
          for (var t = 0; t < T; t = t + 1) {
            let m = m0 + t;
            if (m < M) {
              let xv = x[m * K + k];
              acc[t * 4] = acc[t * 4] + c0 * xv;
              acc[t * 4 + 1] = acc[t * 4 + 1] + c1 * xv;
              acc[t * 4 + 2] = acc[t * 4 + 2] + c2 * xv;
              acc[t * 4 + 3] = acc[t * 4 + 3] + c3 * xv;
            }
          }
        }
      }
    }
  }
  for (var i = 0; i < T * 4; i = i + 1) { partial[lid * T * 4 + i] = acc[i]; }
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (u32(lid) < s) {
      for (var i = 0; i < T * 4; i = i + 1) { partial[lid * T * 4 + i] = partial[lid * T * 4 + i] + partial[(lid + i32(s)) * T * 4 + i]; }
    }
    workgroupBarrier();
  }
  if (lid < T * 4 && r < R) {
    let m = m0 + lid / 4;
    let o = r + (lid % 4) * R;
    if (m < M && o < N) { setOutputAtIndexI32(m * N + o, partial[lid]); }
  }
}`;

/** WebGPU kernel: inputs `x` int32 `[..., K]`, `packed` int32 words; attr `outFeatures`; output `y` int32 `[..., N]`. */
export const ternaryMatmulWebgpu = webgpuKernel<TernaryMatmulInputName, never, TernaryMatmulAttrs, TernaryMatmulOutputName>(({ inputs: { x, packed }, attrs: { outFeatures: n }, run, backend }) => {
  const k = x.shape[x.shape.length - 1];
  const m = x.shape.reduce((a, b) => a * b, 1) / k;
  const rows = Math.ceil(n / 4);
  const outShape = [...x.shape.slice(0, -1), n];
  // no tokens: an empty output, no program (WebGPU cannot bind an empty buffer)
  if (m === 0) return { y: { dataId: backend.write(new Int32Array(0), outShape, 'int32'), shape: outShape, dtype: 'int32' } };
  const y = run({
    name: 'FalconTernaryMatmul',
    inputs: { x: { ...x, shape: [m * k] }, packed },
    outputShape: [m * n],
    outputDtype: 'int32',
    workgroupSize: [WG],
    dispatch: [Math.min(rows, FOLD), Math.ceil(m / TOKENS), Math.ceil(rows / FOLD)],
    uniforms: { k: { type: 'i32', value: k }, m: { type: 'i32', value: m }, n: { type: 'i32', value: n }, rows: { type: 'i32', value: rows } },
    shader,
  });
  return { y: { ...y, shape: outShape } };
});
