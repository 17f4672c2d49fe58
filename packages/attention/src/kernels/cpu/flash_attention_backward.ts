/**
 * CPU kernel of the attention backward (FlashAttention-2 style): D = rowsum(dO∘O) − dlse, then for
 * each (batch, KV head) and each query head of the group, query tiles against key tiles recompute
 * P = exp(q·k·scale + bias − lse) and accumulate dV += Pᵀ·dO, dS = P∘(dO·Vᵀ − D), dQ += dS·K·scale,
 * dK += dSᵀ·Q·scale. dK and dV are summed over the group's query heads. Scratch memory is
 * O(seqlenK·headDim), never the score matrix.
 */
import { hostKernel } from '@falcon/tensor';
import type { HostAttentionProblem } from './attention_problem.js';
import { packKvHead, recordWorkspace, rowRanges, TILE_K, TILE_Q } from './attention_problem.js';
import { roundUp4, tileProductNT } from './tile_product.js';
import type { AttentionBackwardAttrs, FlashAttentionBackwardInputName, FlashAttentionBackwardOptionalName, FlashAttentionBackwardOutputName } from '../../flash_attention_backward_signature.js';

/** The forward's results and the output gradients, on the host. */
export interface HostBackwardData {
  /** Forward output `[batch, seqlenQ, nHeads, headDim]`. */
  out: Float32Array;
  /** Forward log-sum-exp `[batch, nHeads, seqlenQ]`. */
  lse: Float32Array;
  /** Gradient of out. */
  dout: Float32Array;
  /** Gradient of lse (absent: zeros). */
  dlse?: Float32Array;
}

/**
 * Tiled attention backward on host arrays.
 * @returns `dq` like q, `dk`/`dv` `[batch, kvRows, nKvHeads, headDim]` (zero beyond seqlenK)
 */
export function attentionBackwardHost(p: HostAttentionProblem, g: HostBackwardData): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
  const { batch: B, seqlenQ: L, seqlenK: LK, kvRows, nHeads: H, nKvHeads: HK, headDim: D, scale, q, slopes, keyMask } = p;
  const { out, lse, dout, dlse } = g;
  const G = H / HK;
  const DP = roundUp4(D);
  const LKP = roundUp4(LK);
  const TQ = TILE_Q;
  const TK = TILE_K;
  const dq = new Float32Array(q.length);
  const dk = new Float32Array(B * kvRows * HK * D);
  const dv = new Float32Array(B * kvRows * HK * D);
  const { lo, hi } = rowRanges(p);
  const kp = new Float32Array(LKP * DP); // K rows (for S = Q·Kᵀ)
  const kt = new Float32Array(DP * LKP); // K columns (for dQ = dS·K)
  const vp = new Float32Array(LKP * DP); // V rows (for dP = dO·Vᵀ)
  const dkAcc = new Float64Array(LKP * DP);
  const dvAcc = new Float64Array(LKP * DP);
  const qs = new Float32Array(TQ * DP); // q·scale rows
  const qsT = new Float32Array(DP * TQ); // and columns
  const dO = new Float32Array(TQ * DP);
  const dOT = new Float32Array(DP * TQ);
  const sc = new Float64Array(TQ * TK);
  const dp = new Float64Array(TQ * TK);
  const dS = new Float32Array(TQ * TK);
  const pT = new Float32Array(TK * TQ);
  const dST = new Float32Array(TK * TQ);
  const dqAcc = new Float64Array(TQ * DP);
  const delta = new Float64Array(TQ);
  const lseT = new Float64Array(TQ);
  recordWorkspace(8 * L + 28 * LKP * DP + 24 * TQ * DP + 28 * TQ * TK + 16 * TQ);
  const shift = LK - L;
  for (let b = 0; b < B; b++) {
    const maskOff = b * kvRows;
    for (let kh = 0; kh < HK; kh++) {
      packKvHead(p.k, kp, b, kh, p, DP);
      packKvHead(p.k, kt, b, kh, p, DP, true, LKP);
      packKvHead(p.v, vp, b, kh, p, DP);
      dkAcc.fill(0);
      dvAcc.fill(0);
      for (let h = kh * G; h < (kh + 1) * G; h++) {
        const slope = slopes ? slopes[h] : 0;
        for (let i0 = 0; i0 < L; i0 += TQ) {
          const n = Math.min(TQ, L - i0);
          const nP = n + (n & 1);
          let jStart = LK;
          let jEnd = -1;
          for (let r = 0; r < nP; r++) {
            const i = i0 + r;
            const li = r < n ? lse[(b * H + h) * L + i] : -Infinity;
            lseT[r] = li;
            if (li === -Infinity || lo[i] > hi[i]) {
              // a row that sees no key (or the padding row): zeros, so it adds nothing to dK/dV
              lseT[r] = -Infinity;
              for (let d = 0; d < DP; d++) {
                qsT[d * TQ + r] = 0;
                dOT[d * TQ + r] = 0;
              }
              continue;
            }
            if (lo[i] < jStart) jStart = lo[i];
            if (hi[i] > jEnd) jEnd = hi[i];
            const src = ((b * L + i) * H + h) * D;
            let dd = 0;
            for (let d = 0; d < D; d++) {
              const x = q[src + d] * scale;
              const y = dout[src + d];
              qs[r * DP + d] = x;
              qsT[d * TQ + r] = x;
              dO[r * DP + d] = y;
              dOT[d * TQ + r] = y;
              dd += y * out[src + d];
            }
            delta[r] = dlse ? dd - dlse[(b * H + h) * L + i] : dd;
          }
          dqAcc.fill(0, 0, nP * DP);
          for (let j0 = jStart - (jStart % TK); j0 <= jEnd; j0 += TK) {
            const w = roundUp4(Math.min(j0 + TK, LK) - j0);
            sc.fill(0, 0, nP * TK);
            dp.fill(0, 0, nP * TK);
            tileProductNT(qs, 0, DP, kp, j0 * DP, DP, sc, 0, TK, nP, w, DP);
            tileProductNT(dO, 0, DP, vp, j0 * DP, DP, dp, 0, TK, nP, w, DP);
            for (let r = 0; r < nP; r++) {
              const i = i0 + r;
              const ro = r * TK;
              const li = lseT[r];
              let a = w;
              let z = -1;
              if (li !== -Infinity) {
                a = (lo[i] > j0 ? lo[i] : j0) - j0;
                z = (hi[i] < j0 + w - 1 ? hi[i] : j0 + w - 1) - j0;
              }
              const pos = i + shift - j0;
              const di = delta[r];
              for (let c = 0; c < w; c++) {
                let pc = 0;
                let ds = 0;
                if (c >= a && c <= z && (keyMask === undefined || keyMask[maskOff + j0 + c] !== 0)) {
                  let s = sc[ro + c];
                  if (slope !== 0) s -= slope * Math.abs(pos - c);
                  pc = Math.exp(s - li);
                  ds = pc * (dp[ro + c] - di);
                }
                dS[ro + c] = ds;
                pT[c * TQ + r] = pc;
                dST[c * TQ + r] = ds;
              }
            }
            tileProductNT(pT, 0, TQ, dOT, 0, TQ, dvAcc, j0 * DP, DP, w, DP, nP);
            tileProductNT(dST, 0, TQ, qsT, 0, TQ, dkAcc, j0 * DP, DP, w, DP, nP);
            tileProductNT(dS, 0, TK, kt, j0, LKP, dqAcc, 0, DP, nP, DP, w);
          }
          for (let r = 0; r < n; r++) {
            const o = ((b * L + i0 + r) * H + h) * D;
            for (let d = 0; d < D; d++) dq[o + d] = dqAcc[r * DP + d] * scale;
          }
        }
      }
      for (let j = 0; j < LK; j++) {
        const o = ((b * kvRows + j) * HK + kh) * D;
        for (let d = 0; d < D; d++) {
          dk[o + d] = dkAcc[j * DP + d];
          dv[o + d] = dvAcc[j * DP + d];
        }
      }
    }
  }
  return { dq, dk, dv };
}

/** The attention backward CPU kernel. */
export const flashAttentionBackwardCpu = hostKernel<FlashAttentionBackwardInputName, FlashAttentionBackwardOptionalName, AttentionBackwardAttrs, FlashAttentionBackwardOutputName>(({ q, k, v, out, lse, dout, dlse, alibiSlopes, keyPaddingMask, cuSeqlens }, attrs) => {
  const [batch, seqlenQ, nHeads, headDim] = q.shape;
  const [, kvRows, nKvHeads] = k.shape;
  const { dq, dk, dv } = attentionBackwardHost(
    {
      ...attrs,
      batch,
      seqlenQ,
      seqlenK: attrs.kvLength >= 0 ? attrs.kvLength : kvRows,
      kvRows,
      nHeads,
      nKvHeads,
      headDim,
      q: q.values as Float32Array,
      k: k.values as Float32Array,
      v: v.values as Float32Array,
      slopes: alibiSlopes?.values,
      keyMask: keyPaddingMask?.values,
      cuSeqlens: cuSeqlens?.values,
    },
    { out: out.values as Float32Array, lse: lse.values as Float32Array, dout: dout.values as Float32Array, dlse: dlse.values as Float32Array },
  );
  return {
    dq: { values: dq, shape: q.shape, dtype: 'float32' },
    dk: { values: dk, shape: k.shape, dtype: 'float32' },
    dv: { values: dv, shape: v.shape, dtype: 'float32' },
  };
});
