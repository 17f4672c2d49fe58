/**
 * The backward of the SSD scan on WebGPU, in the chunked form (the same decomposition as the CPU
 * kernel's, see `kernels/cpu/ssd_chunk_scan_backward.ts`), as flat programs with one invocation
 * per output element:
 * - the forward parts (time steps, C·Bᵀ, states before every chunk) and, with z, y before the gate;
 * - `dyp` (dy through the gate), `dz`;
 * - `dsc`: `Σ_t exp(cum_t)·dyp_t⊗C_t` per chunk, then `G`: the gradient of the state leaving every
 *   chunk, passed from the last chunk to the first (its extra slot is the initial state's gradient);
 * - `dx` (diagonal block transposed, the state gradient through B, and D), `dCB` (summed over the
 *   group's heads), `dC`, `dB`;
 * - per position: the segment-sum gradients of the diagonal block, `w·dY·(S·C)`, `∂V·V` and `U·∂V`;
 *   per chunk the last position's extra term; then `∂a` (a running sum to the chunk end), `ddt`;
 * - reductions over batch and positions: dA, ddtBias, dD.
 * Each program binds at most 7 tensors.
 */
import { webgpuKernel } from '@falcon/tensor';
import type { TensorInfo, WebgpuProgram } from '@falcon/tensor';
import type { SsdBackwardInputName, SsdBackwardOptionalName, SsdBackwardOutputName } from '../../ssd_chunk_scan_backward_signature.js';
import type { SsdAttrs } from '../../ssd_chunk_scan_signature.js';
import type { SsdDims, SsdTensors } from './ssd_programs.js';
import { flat, ssdDims, ssdForwardParts, ssdUniforms, ssdYPreProgram, WGSL_INDEX, WGSL_TS, wgslBoundary } from './ssd_programs.js';
import { emptyTensor, WGSL_SILU } from './wgsl.js';

// Decompose a flat index over [batch, seqlen, nheads, headdim] (x layout).
const X_COORDS = /* wgsl */ `
    let i = index % uniforms.headdim;
    var r = index / uniforms.headdim;
    let hh = r % uniforms.nheads;
    r = r / uniforms.nheads;
    let t = r % uniforms.seqlen;
    let bb = r / uniforms.seqlen;`;
// ... over [batch, seqlen, ngroups, dstate] (B layout)
const B_COORDS = /* wgsl */ `
    let j = index % uniforms.dstate;
    var r = index / uniforms.dstate;
    let gg = r % uniforms.ngroups;
    r = r / uniforms.ngroups;
    let t = r % uniforms.seqlen;
    let bb = r / uniforms.seqlen;`;
// ... over [batch, seqlen, nheads] (one invocation per position and head)
const T_COORDS = /* wgsl */ `
    let hh = index % uniforms.nheads;
    let r = index / uniforms.nheads;
    let t = r % uniforms.seqlen;
    let bb = r / uniforms.seqlen;`;
const HEADER = (seq: boolean) => `${WGSL_INDEX}\n${WGSL_TS}\n${wgslBoundary(seq)}`;
const rowsLimit = 'uniforms.batch * uniforms.seqlen * uniforms.nheads';

const dypShader = /* wgsl */ `
${WGSL_SILU}
fn main(index: i32) { if (index < uniforms.size) { setOutputAtIndex(index, dy[index] * silu(z[index])); } }`;

const dzShader = (D: boolean) => /* wgsl */ `
${WGSL_SILU}
fn main(index: i32) {
  if (index < uniforms.size) {
    var y = ypre[index];
    ${D ? 'y = y + D[(index / uniforms.headdim) % uniforms.nheads] * x[index];' : ''}
    setOutputAtIndex(index, dy[index] * y * siluSlope(z[index]));
  }
}`;

// [batch, nchunks, nheads, headdim, dstate]: Σ_{t in chunk, state reaches t} exp(cum_t)·dyp_t[i]·C_t[j]
const dscShader = (seq: boolean) => /* wgsl */ `
${HEADER(seq)}
fn main(index: i32) {
  if (index < uniforms.size) {
    let j = index % uniforms.dstate;
    var r = index / uniforms.dstate;
    let i = r % uniforms.headdim;
    r = r / uniforms.headdim;
    let hh = r % uniforms.nheads;
    r = r / uniforms.nheads;
    let c = r % uniforms.nchunks;
    let bb = r / uniforms.nchunks;
    let gg = groupOf(hh);
    var acc = 0.0;
    for (var t = c * uniforms.chunk; t <= chunkEnd(c); t = t + 1) {
      if (boundary(bb, t)) { break; }
      acc = acc + exp(cumAt(bb, t, hh)) * dyp[xIdx(bb, t, hh, i)] * C[bIdx(bb, t, gg, j)];
    }
    setOutputAtIndex(index, acc);
  }
}`;

// [batch, nchunks + 1, nheads, headdim, dstate]: slot c = ∂L/∂(state leaving chunk c); slot nchunks = ∂L/∂(initial state)
const gShader = (seq: boolean) => /* wgsl */ `
${HEADER(seq)}
fn main(index: i32) {
  if (index < uniforms.batch * uniforms.nheads * uniforms.headdim * uniforms.dstate) {
    let j = index % uniforms.dstate;
    var r = index / uniforms.dstate;
    let i = r % uniforms.headdim;
    r = r / uniforms.headdim;
    let hh = r % uniforms.nheads;
    let bb = r / uniforms.nheads;
    var G = dFinal[index];
    for (var c = uniforms.nchunks - 1; c >= 0; c = c - 1) {
      setOutputAtIndex(sIdx(bb, c, hh, i, j), G);
      let last = chunkEnd(c);
      var flows = true;
      for (var u = c * uniforms.chunk; u <= last; u = u + 1) { if (boundary(bb, u)) { flows = false; } }
      var decay = 0.0;
      if (flows) { decay = exp(cumAt(bb, last, hh)); }
      G = decay * G + dsc[csIdx(bb, c, hh, i, j)];
    }
    setOutputAtIndex(sIdx(bb, uniforms.nchunks, hh, i, j), G);
  }
}`;

const dInitShader = /* wgsl */ `
${WGSL_INDEX}
fn main(index: i32) {
  if (index < uniforms.size) {
    let j = index % uniforms.dstate;
    var r = index / uniforms.dstate;
    let i = r % uniforms.headdim;
    r = r / uniforms.headdim;
    let hh = r % uniforms.nheads;
    let bb = r / uniforms.nheads;
    setOutputAtIndex(index, G[sIdx(bb, uniforms.nchunks, hh, i, j)]);
  }
}`;

// dx [batch, seqlen, nheads, headdim]: Σ_{t ≥ s} M[t, s]·dyp_t + V_s·(G·B_s) + D·dyp_s (here s is the position `t`)
const dxShader = (seq: boolean, D: boolean) => /* wgsl */ `
${HEADER(seq)}
fn main(index: i32) {
  if (index < uniforms.size) {${X_COORDS}
    let s = t;
    let gg = groupOf(hh);
    let c = s / uniforms.chunk;
    let c0 = c * uniforms.chunk;
    let last = chunkEnd(c);
    let ds = deltaAt(bb, s, hh);
    var acc = ${D ? 'D[hh] * dyp[index]' : '0.0'};
    var seg = 0.0;
    var reach = true;
    for (var u = s; u <= last; u = u + 1) {
      if (u > s) {
        if (boundary(bb, u)) { reach = false; break; }
        seg = seg + aAt(bb, u, hh);
      }
      acc = acc + cb[((bb * uniforms.seqlen + u) * uniforms.ngroups + gg) * uniforms.chunk + s - c0] * exp(seg) * ds * dyp[xIdx(bb, u, hh, i)];
    }
    if (reach) {
      var gb = 0.0;
      for (var j = 0; j < uniforms.dstate; j = j + 1) { gb = gb + G[sIdx(bb, c, hh, i, j)] * B[bIdx(bb, s, gg, j)]; }
      acc = acc + exp(seg) * ds * gb;
    }
    setOutputAtIndex(index, acc);
  }
}`;

// dCB [batch, seqlen, ngroups, chunk] (row t, column s in t's chunk): Σ_heads (dyp_t·x_s)·exp(Σ_{s<τ≤t} a_τ)·Δ_s
const dcbShader = (seq: boolean) => /* wgsl */ `
${HEADER(seq)}
fn main(index: i32) {
  if (index < uniforms.size) {
    let sl = index % uniforms.chunk;
    var r = index / uniforms.chunk;
    let gg = r % uniforms.ngroups;
    r = r / uniforms.ngroups;
    let t = r % uniforms.seqlen;
    let bb = r / uniforms.seqlen;
    let s = (t / uniforms.chunk) * uniforms.chunk + sl;
    var acc = 0.0;
    var ok = s <= t;
    for (var u = s + 1; u <= t; u = u + 1) { if (boundary(bb, u)) { ok = false; } }
    if (ok) {
      let hpg = uniforms.nheads / uniforms.ngroups;
      for (var k = 0; k < hpg; k = k + 1) {
        let hh = gg * hpg + k;
        var seg = 0.0;
        for (var u = s + 1; u <= t; u = u + 1) { seg = seg + aAt(bb, u, hh); }
        var dm = 0.0;
        for (var i = 0; i < uniforms.headdim; i = i + 1) { dm = dm + dyp[xIdx(bb, t, hh, i)] * x[xIdx(bb, s, hh, i)]; }
        acc = acc + dm * exp(seg) * deltaAt(bb, s, hh);
      }
    }
    setOutputAtIndex(index, acc);
  }
}`;

// dC [batch, seqlen, ngroups, dstate]: Σ_{s ≤ t} dCB[t, s]·B_s + Σ_heads exp(cum_t)·dyp_tᵀ·S_before
const dcShader = (seq: boolean) => /* wgsl */ `
${HEADER(seq)}
fn main(index: i32) {
  if (index < uniforms.size) {${B_COORDS}
    let c = t / uniforms.chunk;
    let c0 = c * uniforms.chunk;
    let row = ((bb * uniforms.seqlen + t) * uniforms.ngroups + gg) * uniforms.chunk - c0;
    var acc = 0.0;
    for (var s = c0; s <= t; s = s + 1) { acc = acc + dcb[row + s] * B[bIdx(bb, s, gg, j)]; }
    var flows = true;
    for (var u = c0; u <= t; u = u + 1) { if (boundary(bb, u)) { flows = false; } }
    if (flows) {
      let hpg = uniforms.nheads / uniforms.ngroups;
      for (var k = 0; k < hpg; k = k + 1) {
        let hh = gg * hpg + k;
        var v = 0.0;
        for (var i = 0; i < uniforms.headdim; i = i + 1) { v = v + dyp[xIdx(bb, t, hh, i)] * states[sIdx(bb, c, hh, i, j)]; }
        acc = acc + exp(cumAt(bb, t, hh)) * v;
      }
    }
    setOutputAtIndex(index, acc);
  }
}`;

// dB [batch, seqlen, ngroups, dstate]: Σ_{t ≥ s} dCB[t, s]·C_t + Σ_heads V_s·Gᵀ·x_s (here s is the position `t`)
const dbShader = (seq: boolean) => /* wgsl */ `
${HEADER(seq)}
fn main(index: i32) {
  if (index < uniforms.size) {${B_COORDS}
    let s = t;
    let c = s / uniforms.chunk;
    let c0 = c * uniforms.chunk;
    let last = chunkEnd(c);
    var acc = 0.0;
    for (var u = s; u <= last; u = u + 1) {
      acc = acc + dcb[((bb * uniforms.seqlen + u) * uniforms.ngroups + gg) * uniforms.chunk + s - c0] * C[bIdx(bb, u, gg, j)];
    }
    var reach = true;
    for (var u = s + 1; u <= last; u = u + 1) { if (boundary(bb, u)) { reach = false; } }
    if (reach) {
      let hpg = uniforms.nheads / uniforms.ngroups;
      for (var k = 0; k < hpg; k = k + 1) {
        let hh = gg * hpg + k;
        var seg = 0.0;
        for (var u = s + 1; u <= last; u = u + 1) { seg = seg + aAt(bb, u, hh); }
        var v = 0.0;
        for (var i = 0; i < uniforms.headdim; i = i + 1) { v = v + G[sIdx(bb, c, hh, i, j)] * x[xIdx(bb, s, hh, i)]; }
        acc = acc + exp(seg) * deltaAt(bb, s, hh) * v;
      }
    }
    setOutputAtIndex(index, acc);
  }
}`;

// [batch, seqlen, nheads, 2]: (Σ_s dM[t,s]·M[t,s] − Σ_{t'} dM[t',t]·M[t',t],  Σ_{t'} dM[t',t]·C_t'·B_t·E[t',t])
const diagShader = (seq: boolean) => /* wgsl */ `
${HEADER(seq)}
fn dmAt(bb: i32, tt: i32, s: i32, hh: i32) -> f32 {
  var v = 0.0;
  for (var i = 0; i < uniforms.headdim; i = i + 1) { v = v + dyp[xIdx(bb, tt, hh, i)] * x[xIdx(bb, s, hh, i)]; }
  return v;
}
fn main(index: i32) {
  if (index < ${rowsLimit}) {${T_COORDS}
    let gg = groupOf(hh);
    let c0 = (t / uniforms.chunk) * uniforms.chunk;
    let last = chunkEnd(t / uniforms.chunk);
    let row = ((bb * uniforms.seqlen + t) * uniforms.ngroups + gg) * uniforms.chunk - c0;
    var rowSeg = 0.0;
    var seg = 0.0;
    for (var s = t; s >= c0; s = s - 1) {
      rowSeg = rowSeg + dmAt(bb, t, s, hh) * cb[row + s] * exp(seg) * deltaAt(bb, s, hh);
      if (boundary(bb, s)) { break; }
      seg = seg + aAt(bb, s, hh);
    }
    var colSeg = 0.0;
    var dDelta = 0.0;
    seg = 0.0;
    for (var u = t; u <= last; u = u + 1) {
      if (u > t) {
        if (boundary(bb, u)) { break; }
        seg = seg + aAt(bb, u, hh);
      }
      let g = dmAt(bb, u, t, hh) * cb[((bb * uniforms.seqlen + u) * uniforms.ngroups + gg) * uniforms.chunk + t - c0] * exp(seg);
      dDelta = dDelta + g;
      colSeg = colSeg + g * deltaAt(bb, t, hh);
    }
    setOutputAtIndex(index * 2, rowSeg - colSeg);
    setOutputAtIndex(index * 2 + 1, dDelta);
  }
}`;

// [batch, seqlen, nheads]: exp(cum_t)·dyp_t·(S_before·C_t) where the state reaches t
const dwoShader = (seq: boolean) => /* wgsl */ `
${HEADER(seq)}
fn main(index: i32) {
  if (index < uniforms.size) {${T_COORDS}
    let gg = groupOf(hh);
    let c = t / uniforms.chunk;
    var flows = true;
    for (var u = c * uniforms.chunk; u <= t; u = u + 1) { if (boundary(bb, u)) { flows = false; } }
    var acc = 0.0;
    if (flows) {
      for (var i = 0; i < uniforms.headdim; i = i + 1) {
        var sc = 0.0;
        for (var j = 0; j < uniforms.dstate; j = j + 1) { sc = sc + states[sIdx(bb, c, hh, i, j)] * C[bIdx(bb, t, gg, j)]; }
        acc = acc + dyp[xIdx(bb, t, hh, i)] * sc;
      }
      acc = acc * exp(cumAt(bb, t, hh));
    }
    setOutputAtIndex(index, acc);
  }
}`;

// [batch, seqlen, nheads, 2]: (∂V_s·V_s, U_s·∂V_s) with ∂V_s = x_sᵀ·G·B_s, U_s = exp(Σ_{s<τ≤last} a_τ), V_s = U_s·Δ_s
const dvShader = (seq: boolean) => /* wgsl */ `
${HEADER(seq)}
fn main(index: i32) {
  if (index < ${rowsLimit}) {${T_COORDS}
    let s = t;
    let gg = groupOf(hh);
    let c = s / uniforms.chunk;
    let last = chunkEnd(c);
    var reach = true;
    var seg = 0.0;
    for (var u = s + 1; u <= last; u = u + 1) {
      if (boundary(bb, u)) { reach = false; }
      seg = seg + aAt(bb, u, hh);
    }
    var dvv = 0.0;
    var udv = 0.0;
    if (reach) {
      var dv = 0.0;
      for (var i = 0; i < uniforms.headdim; i = i + 1) {
        var gb = 0.0;
        for (var j = 0; j < uniforms.dstate; j = j + 1) { gb = gb + G[sIdx(bb, c, hh, i, j)] * B[bIdx(bb, s, gg, j)]; }
        dv = dv + x[xIdx(bb, s, hh, i)] * gb;
      }
      let U = exp(seg);
      dvv = dv * U * deltaAt(bb, s, hh);
      udv = U * dv;
    }
    setOutputAtIndex(index * 2, dvv);
    setOutputAtIndex(index * 2 + 1, udv);
  }
}`;

// [batch, nchunks, nheads]: exp(cum_last)·Σ G⊙S_before (when the state crosses the chunk) + Σ_s ∂V_s·V_s
const lastShader = (seq: boolean) => /* wgsl */ `
${HEADER(seq)}
fn main(index: i32) {
  if (index < uniforms.size) {
    let hh = index % uniforms.nheads;
    let r = index / uniforms.nheads;
    let c = r % uniforms.nchunks;
    let bb = r / uniforms.nchunks;
    let last = chunkEnd(c);
    var flows = true;
    for (var u = c * uniforms.chunk; u <= last; u = u + 1) { if (boundary(bb, u)) { flows = false; } }
    var acc = 0.0;
    if (flows) {
      for (var i = 0; i < uniforms.headdim; i = i + 1) {
        for (var j = 0; j < uniforms.dstate; j = j + 1) { acc = acc + G[sIdx(bb, c, hh, i, j)] * states[sIdx(bb, c, hh, i, j)]; }
      }
      acc = acc * exp(cumAt(bb, last, hh));
    }
    for (var s = c * uniforms.chunk; s <= last; s = s + 1) { acc = acc + dv[((bb * uniforms.seqlen + s) * uniforms.nheads + hh) * 2]; }
    setOutputAtIndex(index, acc);
  }
}`;

// [batch, seqlen, nheads, 2]: (ddt, Δ·∂a) with ∂a_t = Σ_{τ ≥ t in the chunk} ∂cum_τ (boundaries are already in the terms)
const ddtShader = /* wgsl */ `
${HEADER(false)}
fn main(index: i32) {
  if (index < ${rowsLimit}) {${T_COORDS}
    let c = t / uniforms.chunk;
    let row = (bb * uniforms.seqlen) * uniforms.nheads + hh;
    var da = lastTerm[(bb * uniforms.nchunks + c) * uniforms.nheads + hh];
    for (var u = t; u <= chunkEnd(c); u = u + 1) {
      let k = row + u * uniforms.nheads;
      da = da + diag[k * 2] + dwo[k] - dv[k * 2];
    }
    let dDelta = diag[index * 2 + 1] + dv[index * 2 + 1] + A[hh] * da;
    setOutputAtIndex(index * 2, dDelta * slopeAt(bb, t, hh));
    setOutputAtIndex(index * 2 + 1, deltaAt(bb, t, hh) * da);
  }
}`;

const pickShader = /* wgsl */ `
fn main(index: i32) { if (index < uniforms.size) { setOutputAtIndex(index, packed[index * 2 + uniforms.which]); } }`;

// [nheads]: Σ over batch and positions of packed[(row·nheads + h)·2 + which]
const sumHeadsShader = /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) {
    var acc = 0.0;
    for (var r = 0; r < uniforms.batch * uniforms.seqlen; r = r + 1) { acc = acc + packed[(r * uniforms.nheads + index) * 2 + uniforms.which]; }
    setOutputAtIndex(index, acc);
  }
}`;

// dD [nheads]: Σ dyp·x over batch, positions and headdim
const dDShader = /* wgsl */ `
fn main(index: i32) {
  if (index < uniforms.size) {
    var acc = 0.0;
    let p = uniforms.headdim;
    for (var r = 0; r < uniforms.batch * uniforms.seqlen; r = r + 1) {
      let base = (r * uniforms.nheads + index) * p;
      for (var i = 0; i < p; i = i + 1) { acc = acc + dyp[base + i] * x[base + i]; }
    }
    setOutputAtIndex(index, acc);
  }
}`;

/** WebGPU kernel of `FalconSsdChunkScanBackward`. @internal */
export const ssdChunkScanBackwardWebgpu = webgpuKernel<SsdBackwardInputName, SsdBackwardOptionalName, SsdAttrs, SsdBackwardOutputName>(
  ({ inputs, attrs, run, backend }) => {
    const t: SsdTensors = { ...inputs, init: inputs.initialStates };
    const { dy, dFinalStates } = inputs;
    const d: SsdDims = ssdDims(t, attrs.chunkSize);
    const u = ssdUniforms(d, attrs);
    const seqFlag = !!t.seqIdx;
    const seq: Record<string, TensorInfo> = t.seqIdx ? { seqIdx: t.seqIdx } : {};
    const key = seqFlag ? 's' : '';
    const prog = (name: string, ins: Record<string, TensorInfo>, shape: number[], shader: () => string, cacheKey = key, threads?: number): WebgpuProgram => ({
      ...flat(name, ins, shape, u, ''),
      ...(threads !== undefined ? { dispatch: Math.max(1, Math.ceil(threads / 64)) } : {}),
      shader,
      cacheKey,
    });
    const xs = [d.b, d.l, d.h, d.p];
    const bs = [d.b, d.l, d.g, d.n];
    const rows = d.b * d.l * d.h;

    const parts = ssdForwardParts(t, d, attrs, run);
    const { ts, cb, states } = parts;
    let dyp: TensorInfo = dy;
    let dz: TensorInfo | undefined;
    if (t.z) {
      const ypre = run(ssdYPreProgram(t, d, attrs, parts));
      dyp = run(prog('FalconSsdBwdDyp', { dy, z: t.z }, xs, () => dypShader, ''));
      dz = run(prog('FalconSsdBwdDz', { dy, ypre, z: t.z, ...(t.D ? { D: t.D, x: t.x } : {}) }, xs, () => dzShader(!!t.D), t.D ? 'd' : ''));
    }
    const dsc = run(prog('FalconSsdBwdStateGrad', { dyp, C: t.C, ts, ...seq }, [d.b, d.nc, d.h, d.p, d.n], () => dscShader(seqFlag)));
    const G = run(prog('FalconSsdBwdStatePass', { dFinal: dFinalStates, dsc, ts, ...seq }, [d.b, d.nc + 1, d.h, d.p, d.n], () => gShader(seqFlag), key, d.b * d.h * d.p * d.n));
    const dx = run(prog('FalconSsdBwdDx', { dyp, cb, ts, G, B: t.B, ...(t.D ? { D: t.D } : {}), ...seq }, xs, () => dxShader(seqFlag, !!t.D), `${key}${t.D ? 'd' : ''}`));
    const dcb = run(prog('FalconSsdBwdDcb', { dyp, x: t.x, ts, ...seq }, [d.b, d.l, d.g, d.q], () => dcbShader(seqFlag)));
    const dC = run(prog('FalconSsdBwdDc', { dcb, B: t.B, dyp, states, ts, ...seq }, bs, () => dcShader(seqFlag)));
    const dB = run(prog('FalconSsdBwdDb', { dcb, C: t.C, G, x: t.x, ts, ...seq }, bs, () => dbShader(seqFlag)));
    const diag = run(prog('FalconSsdBwdDiag', { dyp, x: t.x, cb, ts, ...seq }, [d.b, d.l, d.h, 2], () => diagShader(seqFlag), key, rows));
    const dwo = run(prog('FalconSsdBwdDwo', { dyp, states, C: t.C, ts, ...seq }, [d.b, d.l, d.h], () => dwoShader(seqFlag)));
    const dv = run(prog('FalconSsdBwdDv', { x: t.x, G, B: t.B, ts, ...seq }, [d.b, d.l, d.h, 2], () => dvShader(seqFlag), key, rows));
    const lastTerm = run(prog('FalconSsdBwdLast', { G, states, ts, dv, ...seq }, [d.b, d.nc, d.h], () => lastShader(seqFlag)));
    const packed = run(prog('FalconSsdBwdDdt', { diag, dwo, dv, lastTerm, ts, A: t.A }, [d.b, d.l, d.h, 2], () => ddtShader, '', rows));
    const which = (k: number) => ({ ...u, which: { type: 'i32' as const, value: k } });
    const pick = (name: string, shape: number[], shader: string, k: number): WebgpuProgram => ({
      ...flat(name, { packed }, shape, which(k), shader),
    });
    return {
      dx,
      ddt: pick('FalconSsdBwdPickDdt', [d.b, d.l, d.h], pickShader, 0),
      dA: pick('FalconSsdBwdDA', [d.h], sumHeadsShader, 1),
      dB,
      dC,
      dD: t.D ? flat('FalconSsdBwdDD', { dyp, x: t.x }, [d.h], u, dDShader) : emptyTensor(backend),
      dz: dz ?? emptyTensor(backend),
      ddtBias: t.dtBias ? pick('FalconSsdBwdDdtBias', [d.h], sumHeadsShader, 0) : emptyTensor(backend),
      dInitialStates: t.init ? flat('FalconSsdBwdDinit', { G }, [d.b, d.h, d.p, d.n], u, dInitShader) : emptyTensor(backend),
    };
  },
);
