/**
 * The SSD chunked scan on the CPU, over typed arrays, in the chunked form of the spec:
 * per chunk of `chunkSize` positions, the intra-chunk ("diagonal block") output through the
 * matrix `C_t·B_s · exp(segsum(a)[t, s]) · Δ_s`, the output of the state carried in from earlier
 * chunks, and the state passed on to the next chunk. Segment sums are running sums of `a` over
 * `(s, t]` (never differences of large cumulative sums). Arithmetic is in float64, results are
 * stored as float32. `C_t·B_s` is computed once per group and shared by the group's heads.
 */
import { hostKernel } from '@falcon/tensor';
import type { SsdAttrs, SsdChunkScanInputName, SsdChunkScanOptionalName, SsdChunkScanOutputName } from '../../ssd_chunk_scan_signature.js';
import { gemmNT } from './dot.js';
import { segmentStarts } from './segments.js';
import type { SsdProblem } from './ssd_problem.js';
import { ssdProblem } from './ssd_problem.js';
import { fillTimeStep, timeStepRow } from './time_step.js';

/**
 * Run the chunked scan: returns y `[batch, seqlen, nheads, headdim]` (with D and the z gate applied)
 * and the final states `[batch, nheads, headdim, dstate]`. The products of each chunk are small
 * float64 matrix products ({@link gemmNT}) over row-major and transposed copies of the chunk's
 * B, C and x.
 * @internal
 */
export function ssdChunkScanHost(pr: SsdProblem, attrs: SsdAttrs): { y: Float32Array; finalStates: Float32Array } {
  const { nb, l, h, p, g, n, x, dt, A, B, C, D, z, dtBias, init, seqIdx } = pr;
  const hpg = h / g;
  const pn = p * n;
  const Q = Math.max(1, Math.min(attrs.chunkSize, l));
  const y = new Float32Array(nb * l * h * p);
  const fin = new Float32Array(nb * h * pn);
  const S = new Float64Array(hpg * pn); // states of the heads of one group, [head][p][n]
  const CB = new Float64Array(Q * Q); // C_t · B_s, [t][s]
  const M = new Float64Array(Q * Q); // the diagonal block's matrix, [t][s]
  const Bc = new Float64Array(Q * n); // the chunk's B rows, [s][n]
  const Cc = new Float64Array(Q * n); // the chunk's C rows, [t][n]
  const BcT = new Float64Array(n * Q); // B transposed, [n][s]
  const XT = new Float64Array(p * Q); // the head's x transposed, [p][s]
  const XwT = new Float64Array(p * Q); // x_s · exp(Σ_{s<τ≤last} a_τ) · Δ_s, transposed, [p][s]
  const Yd = new Float64Array(Q * p); // diagonal-block output, [t][p]
  const Yo = new Float64Array(Q * p); // C_t · S_prevᵀ, [t][p]
  const ts = timeStepRow(Q);
  const { delta, a } = ts;
  const cum = new Float64Array(Q);
  const seg = new Int32Array(l);

  for (let bb = 0; bb < nb; bb++) {
    segmentStarts(seqIdx, bb * l, l, seg);
    for (let gg = 0; gg < g; gg++) {
      for (let r = 0; r < hpg; r++) {
        const src = (bb * h + gg * hpg + r) * pn;
        for (let k = 0; k < pn; k++) S[r * pn + k] = init ? init[src + k] : 0;
      }
      for (let c0 = 0; c0 < l; c0 += Q) {
        const q = Math.min(Q, l - c0);
        for (let s = 0; s < q; s++) {
          const o = ((bb * l + c0 + s) * g + gg) * n;
          for (let j = 0; j < n; j++) {
            const bv = B[o + j];
            Bc[s * n + j] = bv;
            BcT[j * Q + s] = bv;
            Cc[s * n + j] = C[o + j];
          }
        }
        // C_t · B_s for s ≤ t (+1 in each pair of rows), shared by the group's heads
        for (let t = 0; t < q; t += 2) gemmNT(Math.min(2, q - t), Math.min(q, t + 2), Cc, t * n, n, Bc, 0, n, CB, t * Q, Q, 0, n, false);
        const last = seg[c0 + q - 1];
        const loLast = Math.max(0, last - c0);
        let flows = false; // does the state from before the chunk reach any position of it?
        for (let t = 0; t < q; t++) if (seg[c0 + t] < c0) flows = true;
        for (let r = 0; r < hpg; r++) {
          const hh = gg * hpg + r;
          const Sr = r * pn;
          fillTimeStep(ts, dt, (bb * l + c0) * h + hh, h, q, dtBias ? dtBias[hh] : 0, A[hh], attrs);
          let run = 0;
          for (let t = 0; t < q; t++) cum[t] = run += a[t];
          for (let s = 0; s < q; s++) {
            const xb = ((bb * l + c0 + s) * h + hh) * p;
            for (let i = 0; i < p; i++) XT[i * Q + s] = x[xb + i];
          }
          // 1. diagonal block: M[t][s] = C_t·B_s · exp(Σ_{s<τ≤t} a_τ) · Δ_s (zero outside s ∈ [seg start, t]); Yd = M·X
          for (let t = 0; t < q; t++) {
            const lo = Math.max(0, seg[c0 + t] - c0);
            const row = t * Q;
            M.fill(0, row, row + q);
            let segsum = 0;
            for (let s = t; s >= lo; s--) {
              M[row + s] = CB[row + s] * Math.exp(segsum) * delta[s];
              segsum += a[s];
            }
          }
          for (let t = 0; t < q; t += 2) {
            const k0 = Math.max(0, seg[c0 + t] - c0);
            gemmNT(Math.min(2, q - t), p, M, t * Q, Q, XT, 0, Q, Yd, t * p, p, k0, Math.min(q, t + 2), false);
          }
          // 4. state carried into the chunk: exp(cum_t) · S_prev · C_t
          if (flows) gemmNT(q, p, Cc, 0, n, S, Sr, n, Yo, 0, p, 0, n, false);
          // 5. sum, skip connection and gate
          const Dh = D ? D[hh] : 0;
          for (let t = 0; t < q; t++) {
            const w = seg[c0 + t] < c0 ? Math.exp(cum[t]) : 0;
            const xb = ((bb * l + c0 + t) * h + hh) * p;
            for (let i = 0; i < p; i++) {
              let v = Yd[t * p + i] + Dh * x[xb + i];
              if (w !== 0) v += w * Yo[t * p + i];
              if (z) {
                const zi = z[xb + i];
                v *= zi / (1 + Math.exp(-zi));
              }
              y[xb + i] = v;
            }
          }
          // 2–3. the state passed on: decay·S_prev + Σ_s exp(Σ_{s<τ≤last} a_τ)·Δ_s·x_s⊗B_s
          if (last < c0) {
            const decay = Math.exp(cum[q - 1]);
            for (let k = Sr; k < Sr + pn; k++) S[k] *= decay;
          } else {
            S.fill(0, Sr, Sr + pn);
          }
          let suf = 0;
          for (let s = q - 1; s >= loLast; s--) {
            const w = Math.exp(suf) * delta[s];
            for (let i = 0; i < p; i++) XwT[i * Q + s] = w * XT[i * Q + s];
            suf += a[s];
          }
          if (loLast < q) gemmNT(p, n, XwT, 0, Q, BcT, 0, Q, S, Sr, n, loLast, q, true);
        }
      }
      for (let r = 0; r < hpg; r++) {
        const dst = (bb * h + gg * hpg + r) * pn;
        for (let k = 0; k < pn; k++) fin[dst + k] = S[r * pn + k];
      }
    }
  }
  return { y, finalStates: fin };
}

/** The CPU kernel of `FalconSsdChunkScan`. @internal */
export const ssdChunkScanCpu = hostKernel<SsdChunkScanInputName, SsdChunkScanOptionalName, SsdAttrs, SsdChunkScanOutputName>((t, attrs) => {
  const pr = ssdProblem({ ...t, init: t.initialStates }, false);
  const { y, finalStates } = ssdChunkScanHost(pr, attrs);
  return {
    y: { values: y, shape: t.x.shape, dtype: 'float32' },
    finalStates: { values: finalStates, shape: [pr.nb, pr.h, pr.p, pr.n], dtype: 'float32' },
  };
});
