/**
 * The attention mask written plainly, one (query, key) pair at a time: which keys a query may see
 * under causal alignment (bottom-right), a sliding window, packed sequences and a key padding mask.
 * The references build their additive mask from this predicate; the fast kernels compute the same
 * set as per-row key ranges and are tested against it.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/** The structure of the mask, shared by every batch row and head. */
export interface MaskSpec {
  /** Number of queries (`seqlen`). */
  seqlenQ: number;
  /** Number of keys (`seqlenK`). */
  seqlenK: number;
  /** Causal: a query sees keys at or before its own position (queries aligned to the end of the keys). */
  causal: boolean;
  /** Keys further than this many positions before the query are masked (−1: unlimited). */
  windowLeft: number;
  /** Keys further than this many positions after the query are masked (−1: unlimited). */
  windowRight: number;
  /** Packed sequences: cumulative lengths `[nSeqs + 1]`; queries see keys of their own sequence only. */
  cuSeqlens?: ArrayLike<number>;
}

/** The sequence index of every position under `cuSeqlens`. */
function segments(cu: ArrayLike<number>, n: number): Int32Array {
  const seg = new Int32Array(n);
  for (let s = 0; s + 1 < cu.length; s++) for (let t = cu[s]; t < cu[s + 1]; t++) seg[t] = s;
  return seg;
}

/** Whether query `i` may see key `j` (ignoring key padding). */
export function allowed(spec: MaskSpec, i: number, j: number, seg?: Int32Array): boolean {
  const pos = i + spec.seqlenK - spec.seqlenQ; // the query's position among the keys (bottom-right alignment)
  if (spec.causal && j > pos) return false;
  if (spec.windowLeft >= 0 && j < pos - spec.windowLeft) return false;
  if (spec.windowRight >= 0 && j > pos + spec.windowRight) return false;
  if (seg && seg[i] !== seg[j]) return false;
  return true;
}

/**
 * The additive mask (0 where allowed, −1e30 where masked) `[batch, 1, seqlenQ, seqlenK]` and the
 * rows that see at least one key, `[batch, 1, seqlenQ, 1]` (1 or 0). The key padding mask
 * `[batch, ≥ seqlenK]` may be longer than seqlenK (a cache's mask): its first seqlenK columns count.
 *
 * −1e30 instead of −∞ keeps fully masked rows free of NaN (their softmax is uniform and the row is
 * then zeroed by `rowValid`); for every other row exp(−1e30 − max) is exactly 0 in float32, as −∞.
 */
export function additiveMask(spec: MaskSpec, batch: number, keyPaddingMask?: Tensor): { mask: Tensor; rowValid: Tensor } {
  const { seqlenQ: l, seqlenK: lk } = spec;
  const seg = spec.cuSeqlens ? segments(spec.cuSeqlens, lk) : undefined;
  const kpm = keyPaddingMask ? keyPaddingMask.dataSync() : undefined;
  const stride = keyPaddingMask ? (keyPaddingMask.shape[1] as number) : 0;
  const mask = new Float32Array(batch * l * lk);
  const rowValid = new Float32Array(batch * l);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < l; i++) {
      let any = false;
      for (let j = 0; j < lk; j++) {
        const ok = allowed(spec, i, j, seg) && (!kpm || kpm[b * stride + j] !== 0);
        mask[(b * l + i) * lk + j] = ok ? 0 : -1e30;
        any ||= ok;
      }
      rowValid[b * l + i] = any ? 1 : 0;
    }
  }
  return { mask: tf.tensor(mask, [batch, 1, l, lk]), rowValid: tf.tensor(rowValid, [batch, 1, l, 1]) };
}
