/**
 * CPU kernel of `flashAttention` (and the core of `decodeAttention`): per (batch, KV head) the keys
 * and values are packed once and shared by the group's query heads; queries go in tiles of 64 rows
 * against key tiles of 64 columns: S = Q·Kᵀ (blocked tile product), online softmax per row
 * (running max and sum in float64), O += P·V. Scratch memory is O(seqlenK·headDim), never
 * O(seqlen·seqlenK). Returns the log-sum-exp that the backward uses.
 */
import { hostKernel } from '@falcon/tensor';
import type { HostAttentionProblem } from './attention_problem.js';
import { packKvHead, recordWorkspace, rowRanges, TILE_K, TILE_Q } from './attention_problem.js';
import { roundUp4, tileProductNT } from './tile_product.js';
import type { FlashAttentionAttrs, FlashAttentionInputName, FlashAttentionOptionalName, FlashAttentionOutputName } from '../../flash_attention_signature.js';

/**
 * Tiled attention forward on host arrays.
 * @returns `out` `[batch, seqlenQ, nHeads, headDim]` and `lse` `[batch, nHeads, seqlenQ]` (−∞ for rows without keys)
 */
export function attentionForwardHost(p: HostAttentionProblem): { out: Float32Array; lse: Float32Array } {
  const { batch: B, seqlenQ: L, seqlenK: LK, kvRows, nHeads: H, nKvHeads: HK, headDim: D, scale, q, slopes, keyMask } = p;
  const G = H / HK;
  const DP = roundUp4(D); // padded head dim (zeros), so tile products need no remainder loops
  const LKP = roundUp4(LK);
  const out = new Float32Array(B * L * H * D);
  const lse = new Float32Array(B * H * L);
  const { lo, hi } = rowRanges(p);
  const kp = new Float32Array(LKP * DP); // K rows
  const vt = new Float32Array(DP * LKP); // V transposed: P·V is then a product of rows
  const qt = new Float32Array(TILE_Q * DP);
  const sc = new Float64Array(TILE_Q * TILE_K);
  const pt = new Float32Array(TILE_Q * TILE_K);
  const acc = new Float64Array(TILE_Q * DP);
  const m = new Float64Array(TILE_Q);
  const l = new Float64Array(TILE_Q);
  recordWorkspace(8 * L + 8 * LKP * DP + 4 * TILE_Q * DP + 12 * TILE_Q * TILE_K + 8 * TILE_Q * DP + 16 * TILE_Q);
  const shift = LK - L;
  for (let b = 0; b < B; b++) {
    const maskOff = b * kvRows;
    for (let kh = 0; kh < HK; kh++) {
      packKvHead(p.k, kp, b, kh, p, DP);
      packKvHead(p.v, vt, b, kh, p, DP, true, LKP);
      for (let h = kh * G; h < (kh + 1) * G; h++) {
        const slope = slopes ? slopes[h] : 0;
        for (let i0 = 0; i0 < L; i0 += TILE_Q) {
          const n = Math.min(TILE_Q, L - i0);
          const nP = n + (n & 1);
          let jStart = LK;
          let jEnd = -1;
          for (let r = 0; r < n; r++) {
            const i = i0 + r;
            if (lo[i] > hi[i]) continue;
            if (lo[i] < jStart) jStart = lo[i];
            if (hi[i] > jEnd) jEnd = hi[i];
            const src = ((b * L + i) * H + h) * D;
            for (let d = 0; d < D; d++) qt[r * DP + d] = q[src + d] * scale;
          }
          acc.fill(0, 0, nP * DP);
          m.fill(-Infinity, 0, n);
          l.fill(0, 0, n);
          pt.fill(0, n * TILE_K, nP * TILE_K);
          for (let j0 = jStart - (jStart % TILE_K); j0 <= jEnd; j0 += TILE_K) {
            const w = roundUp4(Math.min(j0 + TILE_K, LK) - j0);
            sc.fill(0, 0, nP * TILE_K);
            tileProductNT(qt, 0, DP, kp, j0 * DP, DP, sc, 0, TILE_K, nP, w, DP);
            for (let r = 0; r < n; r++) {
              const i = i0 + r;
              const ro = r * TILE_K;
              const a = (lo[i] > j0 ? lo[i] : j0) - j0;
              const z = (hi[i] < j0 + w - 1 ? hi[i] : j0 + w - 1) - j0;
              const pos = i + shift - j0;
              let mx = -Infinity;
              for (let c = a; c <= z; c++) {
                if (keyMask !== undefined && keyMask[maskOff + j0 + c] === 0) {
                  sc[ro + c] = -Infinity;
                  continue;
                }
                let s = sc[ro + c];
                if (slope !== 0) s -= slope * Math.abs(pos - c);
                sc[ro + c] = s;
                if (s > mx) mx = s;
              }
              if (mx === -Infinity) {
                pt.fill(0, ro, ro + w);
                continue;
              }
              const mOld = m[r];
              let mNew = mOld;
              if (mx > mOld) {
                mNew = mx;
                if (mOld !== -Infinity) {
                  const alpha = Math.exp(mOld - mNew);
                  l[r] *= alpha;
                  for (let d = r * DP; d < (r + 1) * DP; d++) acc[d] *= alpha;
                }
                m[r] = mNew;
              }
              let sum = 0;
              for (let c = 0; c < w; c++) {
                let e = 0;
                if (c >= a && c <= z) {
                  const s = sc[ro + c];
                  if (s !== -Infinity) e = Math.exp(s - mNew);
                }
                pt[ro + c] = e;
                sum += e;
              }
              l[r] += sum;
            }
            tileProductNT(pt, 0, TILE_K, vt, j0, LKP, acc, 0, DP, nP, DP, w);
          }
          for (let r = 0; r < n; r++) {
            const i = i0 + r;
            const li = l[r];
            if (li > 0) {
              const inv = 1 / li;
              const oo = ((b * L + i) * H + h) * D;
              for (let d = 0; d < D; d++) out[oo + d] = acc[r * DP + d] * inv;
              lse[(b * H + h) * L + i] = m[r] + Math.log(li);
            } else {
              lse[(b * H + h) * L + i] = -Infinity;
            }
          }
        }
      }
    }
  }
  return { out, lse };
}

/** The `flashAttention` CPU kernel. */
export const flashAttentionCpu = hostKernel<FlashAttentionInputName, FlashAttentionOptionalName, FlashAttentionAttrs, FlashAttentionOutputName>(
  ({ q, k, v, alibiSlopes, keyPaddingMask, cuSeqlens }, attrs) => {
    const [batch, seqlenQ, nHeads, headDim] = q.shape;
    const [, seqlenK, nKvHeads] = k.shape;
    const { out, lse } = attentionForwardHost({
      ...attrs,
      batch,
      seqlenQ,
      seqlenK,
      kvRows: seqlenK,
      nHeads,
      nKvHeads,
      headDim,
      q: q.values as Float32Array,
      k: k.values as Float32Array,
      v: v.values as Float32Array,
      slopes: alibiSlopes?.values,
      keyMask: keyPaddingMask?.values,
      cuSeqlens: cuSeqlens?.values,
    });
    return {
      out: { values: out, shape: q.shape, dtype: 'float32' },
      lse: { values: lse, shape: [batch, nHeads, seqlenQ], dtype: 'float32' },
    };
  },
);
