/**
 * The backward of the SSD scan on the CPU, in the chunked form (differentiating the forward's
 * blocks, as mamba-ssm's chunked backward does), with float64 matrix products ({@link gemmNT}).
 *
 * Pass 1 runs the inter-chunk state recurrence forward and keeps the state at every chunk start
 * (memory linear in seqlen: one `[headdim, dstate]` state per chunk and head). Pass 2 walks the
 * chunks from last to first carrying `G = ∂L/∂S` (the gradient of the state leaving the chunk,
 * starting from the final-state gradient). Within a chunk (positions t, s; `cum` the inclusive
 * running sum of `a = Δ·A`; `M[t,s] = C_t·B_s·exp(cum_t − cum_s)·Δ_s`; `w_t = exp(cum_t)`;
 * `V_s = exp(cum_last − cum_s)·Δ_s`), with `dY` the gradient of y before the gate:
 * - `y = M·X + w·(C·S_prevᵀ) + D·x`: `dX += Mᵀ·dY`, `dM = dY·Xᵀ`, `dS_prev += (w·dY)ᵀ·C`,
 *   `dC += w·dY·S_prev`, `∂cum_t += w_t·dY_t·(S_prev·C_t)`;
 * - through M: `dCB = dM⊙exp(·)·Δ` (summed over the group's heads, then `dC += dCB·B`,
 *   `dB += dCBᵀ·C`), `∂Δ_s += Σ_t dM⊙C·B⊙exp(·)`, `∂cum_t += Σ_s dM⊙M`, `∂cum_s −= Σ_t dM⊙M`;
 * - `S_next = exp(cum_last)·S_prev + Σ_s V_s x_s⊗B_s`: `dS_prev += exp(cum_last)·G`,
 *   `dx_s += V_s·G·B_s`, `dB_s += V_s·Gᵀ·x_s`, `∂V_s = x_sᵀ·G·B_s`;
 * - `∂a_τ = Σ_{t≥τ} ∂cum_t`, `∂Δ += A·∂a`, `∂A += Σ Δ·∂a`, then through softplus and the clamp.
 * Positions of another sequence (`seqIdx`) are masked out of M, w and V exactly as in the forward.
 */
import { hostKernel } from '@falcon/tensor';
import type { SsdBackwardInputName, SsdBackwardOptionalName, SsdBackwardOutputName } from '../../ssd_chunk_scan_backward_signature.js';
import type { SsdAttrs } from '../../ssd_chunk_scan_signature.js';
import { gemmNT } from './dot.js';
import { segmentStarts } from './segments.js';
import type { SsdProblem } from './ssd_problem.js';
import { ssdProblem } from './ssd_problem.js';
import { fillTimeStep, timeStepRow } from './time_step.js';

/** Gradients of every SSD input (absent optional inputs get empty arrays). @internal */
export interface SsdGrads {
  /** `[batch, seqlen, nheads, headdim]` */
  dx: Float32Array;
  /** `[batch, seqlen, nheads]` */
  ddt: Float32Array;
  /** `[nheads]` */
  dA: Float32Array;
  /** `[batch, seqlen, ngroups, dstate]` */
  dB: Float32Array;
  /** `[batch, seqlen, ngroups, dstate]` */
  dC: Float32Array;
  /** `[nheads]` */
  dD: Float32Array;
  /** `[batch, seqlen, nheads, headdim]` */
  dz: Float32Array;
  /** `[nheads]` */
  ddtBias: Float32Array;
  /** `[batch, nheads, headdim, dstate]` */
  dInit: Float32Array;
}

/** Transpose `rows × cols` (row stride ld) into `cols × rows` (row stride ldo). */
function transpose(src: Float64Array, so: number, ld: number, rows: number, cols: number, dst: Float64Array, ldo: number): void {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * ldo + r] = src[so + r * ld + c];
}

/**
 * Gradients of the scan given `dy` (gradient of y, after the gate) and `dFinal` (gradient of the
 * final states).
 * @internal
 */
export function ssdChunkScanBackwardHost(pr: SsdProblem, dy: Float32Array, dFinal: Float32Array, attrs: SsdAttrs): SsdGrads {
  const { nb, l, h, p, g, n, x, dt, A, B, C, D, z, dtBias, init, seqIdx } = pr;
  const hpg = h / g;
  const pn = p * n;
  const Q = Math.max(1, Math.min(attrs.chunkSize, l));
  const nc = Math.ceil(l / Q);
  const dx = new Float32Array(nb * l * h * p);
  const ddt = new Float32Array(nb * l * h);
  const dB = new Float32Array(nb * l * g * n);
  const dC = new Float32Array(nb * l * g * n);
  const dz = new Float32Array(z ? nb * l * h * p : 0);
  const dA64 = new Float64Array(h);
  const dD64 = new Float64Array(h);
  const dbias64 = new Float64Array(h);
  const dInit = new Float32Array(init ? nb * h * pn : 0);

  // scratch
  const ckpt = new Float32Array(hpg * nc * pn); // state at each chunk start, [head][chunk][p][n]
  const S = new Float64Array(pn); // running state (pass 1) / state before the chunk (pass 2)
  const G = new Float64Array(hpg * pn); // ∂L/∂(state leaving the current chunk), per head
  const dSp = new Float64Array(pn); // ∂L/∂S_prev being accumulated
  const Bc = new Float64Array(Q * n);
  const BcT = new Float64Array(n * Q);
  const Cc = new Float64Array(Q * n);
  const CcT = new Float64Array(n * Q);
  const CB = new Float64Array(Q * Q);
  const X = new Float64Array(Q * p);
  const XT = new Float64Array(p * Q);
  const XwT = new Float64Array(p * Q);
  const M = new Float64Array(Q * Q);
  const E = new Float64Array(Q * Q); // exp(Σ_{s<τ≤t} a_τ) within the segment, [t][s]
  const MT = new Float64Array(Q * Q);
  const dM = new Float64Array(Q * Q);
  const dCBs = new Float64Array(Q * Q); // dCB summed over the group's heads, [t][s]
  const dCBT = new Float64Array(Q * Q);
  const Yd = new Float64Array(Q * p);
  const Yo = new Float64Array(Q * p);
  const dY = new Float64Array(Q * p);
  const dYT = new Float64Array(p * Q);
  const dYwT = new Float64Array(p * Q);
  const dX = new Float64Array(Q * p);
  const GB = new Float64Array(Q * p);
  const ST = new Float64Array(n * p);
  const GT = new Float64Array(n * p);
  const dBc = new Float64Array(Q * n);
  const dCc = new Float64Array(Q * n);
  const tmpQn = new Float64Array(Q * n);
  const ts = timeStepRow(Q);
  const { delta, slope, a } = ts;
  const cum = new Float64Array(Q);
  const w = new Float64Array(Q);
  const V = new Float64Array(Q);
  const U = new Float64Array(Q); // exp(Σ_{s<τ≤last} a_τ)
  const dcum = new Float64Array(Q);
  const dDelta = new Float64Array(Q);
  const seg = new Int32Array(l);

  const loadBC = (bb: number, gg: number, c0: number, q: number) => {
    for (let s = 0; s < q; s++) {
      const o = ((bb * l + c0 + s) * g + gg) * n;
      for (let j = 0; j < n; j++) {
        const bv = B[o + j];
        const cv = C[o + j];
        Bc[s * n + j] = bv;
        BcT[j * Q + s] = bv;
        Cc[s * n + j] = cv;
        CcT[j * Q + s] = cv;
      }
    }
  };
  const loadX = (bb: number, hh: number, c0: number, q: number) => {
    for (let s = 0; s < q; s++) {
      const xb = ((bb * l + c0 + s) * h + hh) * p;
      for (let i = 0; i < p; i++) {
        const v = x[xb + i];
        X[s * p + i] = v;
        XT[i * Q + s] = v;
      }
    }
  };
  const timeSteps = (bb: number, hh: number, c0: number, q: number) => {
    fillTimeStep(ts, dt, (bb * l + c0) * h + hh, h, q, dtBias ? dtBias[hh] : 0, A[hh], attrs);
    let run = 0;
    for (let t = 0; t < q; t++) cum[t] = run += a[t];
  };

  for (let bb = 0; bb < nb; bb++) {
    segmentStarts(seqIdx, bb * l, l, seg);
    for (let gg = 0; gg < g; gg++) {
      // pass 1: the state at every chunk start, per head
      for (let r = 0; r < hpg; r++) {
        const hh = gg * hpg + r;
        const s0 = (bb * h + hh) * pn;
        for (let k = 0; k < pn; k++) S[k] = init ? init[s0 + k] : 0;
        for (let c = 0; c < nc; c++) {
          const c0 = c * Q;
          const q = Math.min(Q, l - c0);
          const base = (r * nc + c) * pn;
          for (let k = 0; k < pn; k++) ckpt[base + k] = S[k];
          if (c === nc - 1) break;
          loadBC(bb, gg, c0, q);
          loadX(bb, hh, c0, q);
          timeSteps(bb, hh, c0, q);
          const last = seg[c0 + q - 1];
          const loLast = Math.max(0, last - c0);
          const decay = last < c0 ? Math.exp(cum[q - 1]) : 0;
          for (let k = 0; k < pn; k++) S[k] *= decay;
          let suf = 0;
          for (let s = q - 1; s >= loLast; s--) {
            const ws = Math.exp(suf) * delta[s];
            for (let i = 0; i < p; i++) XwT[i * Q + s] = ws * XT[i * Q + s];
            suf += a[s];
          }
          if (loLast < q) gemmNT(p, n, XwT, 0, Q, BcT, 0, Q, S, 0, n, loLast, q, true);
        }
        for (let k = 0; k < pn; k++) G[r * pn + k] = dFinal[s0 + k];
      }

      // pass 2: chunks from last to first
      for (let c = nc - 1; c >= 0; c--) {
        const c0 = c * Q;
        const q = Math.min(Q, l - c0);
        loadBC(bb, gg, c0, q);
        for (let t = 0; t < q; t += 2) gemmNT(Math.min(2, q - t), Math.min(q, t + 2), Cc, t * n, n, Bc, 0, n, CB, t * Q, Q, 0, n, false);
        const last = seg[c0 + q - 1];
        const loLast = Math.max(0, last - c0);
        let flows = false;
        for (let t = 0; t < q; t++) if (seg[c0 + t] < c0) flows = true;
        dCBs.fill(0);
        dBc.fill(0);
        dCc.fill(0);

        for (let r = 0; r < hpg; r++) {
          const hh = gg * hpg + r;
          const Ah = A[hh];
          const Dh = D ? D[hh] : 0;
          const Gr = r * pn;
          const base = (r * nc + c) * pn;
          for (let k = 0; k < pn; k++) S[k] = ckpt[base + k];
          loadX(bb, hh, c0, q);
          timeSteps(bb, hh, c0, q);
          dcum.fill(0, 0, q);
          dDelta.fill(0, 0, q);

          // recompute the forward pieces: M, Yd = M·X, Yo = C·S_prevᵀ, w, V
          for (let t = 0; t < q; t++) {
            const lo = Math.max(0, seg[c0 + t] - c0);
            const row = t * Q;
            M.fill(0, row, row + q);
            let segsum = 0;
            for (let s = t; s >= lo; s--) {
              const e = Math.exp(segsum);
              E[row + s] = e;
              M[row + s] = CB[row + s] * e * delta[s];
              segsum += a[s];
            }
            w[t] = seg[c0 + t] < c0 ? Math.exp(cum[t]) : 0;
          }
          if (z) {
            for (let t = 0; t < q; t += 2) {
              gemmNT(Math.min(2, q - t), p, M, t * Q, Q, XT, 0, Q, Yd, t * p, p, Math.max(0, seg[c0 + t] - c0), Math.min(q, t + 2), false);
            }
          }
          if (flows) gemmNT(q, p, Cc, 0, n, S, 0, n, Yo, 0, p, 0, n, false);
          V.fill(0, 0, q);
          let suf = 0;
          for (let s = q - 1; s >= loLast; s--) {
            U[s] = Math.exp(suf);
            V[s] = U[s] * delta[s];
            suf += a[s];
          }

          // gradient of y before the gate (and of z), of D, and the skip connection's dx
          let dd = 0;
          for (let t = 0; t < q; t++) {
            const xb = ((bb * l + c0 + t) * h + hh) * p;
            let dw = 0;
            for (let i = 0; i < p; i++) {
              let d = dy[xb + i];
              if (z) {
                const ypre = Yd[t * p + i] + w[t] * Yo[t * p + i] + Dh * X[t * p + i];
                const zi = z[xb + i];
                const sg = 1 / (1 + Math.exp(-zi));
                dz[xb + i] = d * ypre * sg * (1 + zi * (1 - sg));
                d *= zi * sg;
              }
              dY[t * p + i] = d;
              dYT[i * Q + t] = d;
              dYwT[i * Q + t] = w[t] * d;
              dX[t * p + i] = Dh * d;
              dd += d * X[t * p + i];
              if (w[t] !== 0) dw += d * Yo[t * p + i];
            }
            dcum[t] += w[t] * dw;
          }
          dD64[hh] += dd;

          // diagonal block: dX += Mᵀ·dY, dM = dY·Xᵀ
          transpose(M, 0, Q, q, q, MT, Q);
          for (let s = 0; s < q; s += 2) gemmNT(Math.min(2, q - s), p, MT, s * Q, Q, dYT, 0, Q, dX, s * p, p, s, q, true);
          for (let t = 0; t < q; t += 2) {
            gemmNT(Math.min(2, q - t), Math.min(q, t + 2), dY, t * p, p, X, 0, p, dM, t * Q, Q, 0, p, false);
          }
          for (let t = 0; t < q; t++) {
            const lo = Math.max(0, seg[c0 + t] - c0);
            const row = t * Q;
            let rowSum = 0;
            for (let s = lo; s <= t; s++) {
              const dm = dM[row + s];
              const ds = dm * M[row + s]; // ∂(cum_t − cum_s), as ∂M/∂(cum_t − cum_s) = M
              rowSum += ds;
              dcum[s] -= ds;
              // M = CB·E·Δ_s
              const e = E[row + s];
              dDelta[s] += dm * CB[row + s] * e;
              dCBs[row + s] += dm * e * delta[s];
            }
            dcum[t] += rowSum;
          }

          // state carried in: dS_prev = (w·dY)ᵀ·C, dC += w·dY·S_prev
          dSp.fill(0);
          if (flows) {
            gemmNT(p, n, dYwT, 0, Q, CcT, 0, Q, dSp, 0, n, 0, q, false);
            transpose(S, 0, n, p, n, ST, p);
            gemmNT(q, n, dY, 0, p, ST, 0, p, tmpQn, 0, n, 0, p, false);
            for (let t = 0; t < q; t++) {
              const wt = w[t];
              if (wt !== 0) for (let j = 0; j < n; j++) dCc[t * n + j] += wt * tmpQn[t * n + j];
            }
          }

          // state passed on: S_next = exp(cum_last)·S_prev + Σ_s V_s x_s⊗B_s
          if (last < c0) {
            const e = Math.exp(cum[q - 1]);
            let gs = 0;
            for (let k = 0; k < pn; k++) {
              gs += G[Gr + k] * S[k];
              dSp[k] += e * G[Gr + k];
            }
            dcum[q - 1] += e * gs;
          }
          if (loLast < q) {
            gemmNT(q - loLast, p, Bc, loLast * n, n, G, Gr, n, GB, loLast * p, p, 0, n, false);
            transpose(G, Gr, n, p, n, GT, p);
            gemmNT(q - loLast, n, X, loLast * p, p, GT, 0, p, tmpQn, loLast * n, n, 0, p, false);
            for (let s = loLast; s < q; s++) {
              const vs = V[s];
              let dv = 0;
              for (let i = 0; i < p; i++) {
                dX[s * p + i] += vs * GB[s * p + i];
                dv += X[s * p + i] * GB[s * p + i];
              }
              for (let j = 0; j < n; j++) dBc[s * n + j] += vs * tmpQn[s * n + j];
              // V_s = exp(cum_last − cum_s)·Δ_s
              const dvv = dv * vs;
              dcum[q - 1] += dvv;
              dcum[s] -= dvv;
              dDelta[s] += dv * U[s];
            }
          }

          // time steps: ∂a_τ = Σ_{t≥τ} ∂cum_t; a = Δ·A
          let da = 0;
          for (let t = q - 1; t >= 0; t--) {
            da += dcum[t];
            dA64[hh] += delta[t] * da;
            const draw = (dDelta[t] + Ah * da) * slope[t];
            ddt[(bb * l + c0 + t) * h + hh] = draw;
            dbias64[hh] += draw;
          }
          for (let t = 0; t < q; t++) {
            const xb = ((bb * l + c0 + t) * h + hh) * p;
            for (let i = 0; i < p; i++) dx[xb + i] = dX[t * p + i];
          }
          for (let k = 0; k < pn; k++) G[Gr + k] = dSp[k];
        }

        // through C_t·B_s, once for the group: dC += dCB·B, dB += dCBᵀ·C
        gemmNT(q, n, dCBs, 0, Q, BcT, 0, Q, dCc, 0, n, 0, q, true);
        transpose(dCBs, 0, Q, q, q, dCBT, Q);
        gemmNT(q, n, dCBT, 0, Q, CcT, 0, Q, dBc, 0, n, 0, q, true);
        for (let s = 0; s < q; s++) {
          const o = ((bb * l + c0 + s) * g + gg) * n;
          for (let j = 0; j < n; j++) {
            dB[o + j] = dBc[s * n + j];
            dC[o + j] = dCc[s * n + j];
          }
        }
      }
      if (init) {
        for (let r = 0; r < hpg; r++) {
          const s0 = (bb * h + gg * hpg + r) * pn;
          for (let k = 0; k < pn; k++) dInit[s0 + k] = G[r * pn + k];
        }
      }
    }
  }
  return {
    dx,
    ddt,
    dA: Float32Array.from(dA64),
    dB,
    dC,
    dD: D ? Float32Array.from(dD64) : new Float32Array(0),
    dz,
    ddtBias: dtBias ? Float32Array.from(dbias64) : new Float32Array(0),
    dInit,
  };
}

/** The CPU kernel of `FalconSsdChunkScanBackward`. @internal */
export const ssdChunkScanBackwardCpu = hostKernel<SsdBackwardInputName, SsdBackwardOptionalName, SsdAttrs, SsdBackwardOutputName>((t, attrs) => {
  const pr = ssdProblem({ ...t, init: t.initialStates }, false);
  const r = ssdChunkScanBackwardHost(pr, t.dy.values as Float32Array, t.dFinalStates.values as Float32Array, attrs);
  const f = (values: Float32Array, shape: number[]) => ({ values, shape, dtype: 'float32' as const });
  return {
    dx: f(r.dx, t.x.shape),
    ddt: f(r.ddt, t.dt.shape),
    dA: f(r.dA, t.A.shape),
    dB: f(r.dB, t.B.shape),
    dC: f(r.dC, t.C.shape),
    dD: f(r.dD, t.D ? t.D.shape : [0]),
    dz: f(r.dz, t.z ? t.z.shape : [0]),
    ddtBias: f(r.ddtBias, t.dtBias ? t.dtBias.shape : [0]),
    dInitialStates: f(r.dInit, t.initialStates ? t.initialStates.shape : [0]),
  };
});
