/**
 * `ssdChunked`: the SSD chunked form of the spec (§ "SSD chunked form") written as batched matrix
 * products and element-wise tfjs ops, differentiable by tfjs autodiff. On a backend whose matrix
 * products run on tensor cores (cuda: cuBLASLt) the sequence-long recurrence becomes a handful of
 * batched GEMMs over chunks of Q positions; nothing in it runs position by position.
 *
 * With `a_t = Δ_t·A`, `u_t = Δ_t·x_t` and the segment sums `seg(t, s) = Σ_{s<r≤t} a_r` (inside
 * a chunk the difference of the chunk's cumulative sums; across chunks masked cumulative sums,
 * never differences of sequence-long sums), per chunk c of positions t, s:
 *   Y_diag[t] = Σ_{s≤t} (C_t·B_s)·exp(seg(t, s))·u_s                       (intra-chunk, "attention-like")
 *   state_c   = Σ_s exp(seg(last, s))·B_s ⊗ u_s                            (each chunk's own final state)
 *   H_c       = Σ_{k≤c} exp(Σ_{k≤m<c} total_m)·state_{k−1}, state_{−1} = S_init  (inter-chunk, one GEMM over chunks)
 *   Y_off[t]  = exp(seg(t, chunk start − 1))·(C_t·H_c),   y = (Y_diag + Y_off + D·x)·silu(z).
 * Packed sequences (`seqIdx`): every decay between positions of different sequences is masked to
 * zero (a run id counts the sequence starts; two positions interact when their run ids are equal).
 * The tail is padded with Δ = 0 (decay 1, no input), so the final state is that of the last position.
 *
 * Memory: O(b·h·l·Q) floats for the intra-chunk blocks (the tape keeps a few of them for the
 * backward), O(b·h·(l/Q)²) for the inter-chunk decays.
 */
import { tf } from '@falcon/tensor';
import type { Tensor, Tensor4D } from '@falcon/tensor';
import { sequenceContinues } from './reference/sequence.js';
import { timeStepReference } from './reference/time_step.js';
import type { SsdChunkScanOptions, SsdChunkScanResult } from './ssd_chunk_scan_options.js';
import { timeStepAttrs } from './time_step.js';

/** Added to masked-out log-decays: exp of it is exactly 0 and so is its gradient (no inf − inf). */
const MASKED = -1e30;

/**
 * Segment sums along the last axis, transposed: `out[..., j, i] = Σ_{j<r≤i} x[..., r]` for i ≥ j
 * (0 on the diagonal), by a cumulative sum of the masked repetition along the last axis (no
 * subtraction of long sums), in the `[s, t]` layout the blocks are kept in.
 * @param x - `[..., T]`
 * @returns `[..., T, T]` (entries below the diagonal are 0; mask them)
 */
function segmentSumsT(x: Tensor): Tensor {
  const T = x.shape[x.shape.length - 1];
  const rep = tf.mul(tf.expandDims(x, -2), upperTriangle(T, true)); // [..., j, i] = x_i where i > j
  return tf.cumsum(rep, rep.shape.length - 1);
}

/** `[T, T]` float32: 1 where j ≥ i (row i, column j; j > i when `strict`), else 0. */
function upperTriangle(T: number, strict: boolean): Tensor {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = strict ? i + 1 : i; j < T; j++) m[i * T + j] = 1;
  return tf.tensor2d(m, [T, T]);
}

/** 0 where `keep` (bool or 0/1), MASKED elsewhere. */
function logMask(keep: Tensor): Tensor {
  return tf.mul(tf.sub(1, tf.cast(keep, 'float32')), MASKED);
}

/** Pad axis 1 of `t` with `pad` zeros (or copies of its last entry when `repeatLast`). */
function padSeq(t: Tensor, pad: number, repeatLast = false): Tensor {
  if (pad === 0) return t;
  if (!repeatLast) return tf.pad(t, t.shape.map((_, i) => (i === 1 ? [0, pad] : [0, 0])) as [number, number][]);
  const l = t.shape[1] as number;
  const last = tf.slice(t, [0, l - 1], [t.shape[0], 1]);
  return tf.concat([t, tf.tile(last, [1, pad])], 1);
}

/**
 * The SSD scan of {@link ssdChunkScan} (same arguments, same result) in its chunked form, as
 * batched matrix products: see the file comment. `chunkSize` is the Q of the blocks.
 *
 * @param x - `[batch, seqlen, nheads, headdim]`
 * @param dt - `[batch, seqlen, nheads]` raw time steps
 * @param A - `[nheads]`
 * @param B - `[batch, seqlen, ngroups, dstate]`
 * @param C - `[batch, seqlen, ngroups, dstate]`
 * @param options - as {@link ssdChunkScan} (validated there)
 * @returns y `[batch, seqlen, nheads, headdim]` and, when asked, finalStates `[batch, nheads, headdim, dstate]`
 * @internal
 */
export function ssdChunked(x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, options: SsdChunkScanOptions): SsdChunkScanResult {
  const [b, l, h, p] = x.shape;
  const [g, n] = B.shape.slice(2);
  const hg = h / g;
  const Q = Math.min(options.chunkSize ?? l, l);
  const nc = Math.ceil(l / Q);
  const pad = nc * Q - l;
  const bg = b * g;
  const out = tf.tidy(() => {
    const delta = timeStepReference(dt, options.dtBias, timeStepAttrs('ssdChunkScan', options)); // [b, l, h]
    const a = padSeq(tf.mul(delta, A), pad); // [b, L, h]
    const u = padSeq(tf.mul(x, tf.expandDims(delta, 3)), pad); // [b, L, h, p]
    // runs of packed sequences: [b, nc, Q], equal ids ⇔ no sequence start between
    const run = options.seqIdx && tf.reshape(padSeq(tf.cumsum(tf.sub(1, sequenceContinues(options.seqIdx)), 1), pad, true), [b, nc, Q]);

    // per head, chunked: [b, h, nc, Q]
    const aH = tf.transpose(tf.reshape(a, [b, nc, Q, h]), [0, 3, 1, 2]);
    const toGroups = (t: Tensor) => tf.reshape(tf.transpose(tf.reshape(padSeq(t, pad), [b, nc, Q, g, n]), [0, 3, 1, 2, 4]), [bg, nc, Q, n]);
    const Bg = toGroups(B); // [b·g, nc, Q, n]
    const Cg = toGroups(C);
    const uH = tf.transpose(tf.reshape(u, [b, nc, Q, h, p]), [0, 3, 1, 2, 4]); // [b, h, nc, Q, p]

    // 1. intra-chunk blocks, stored transposed ([s, t]): Mᵀ = (B·Cᵀ) ∘ exp(seg(t, s)), Y_diag = M·u.
    // Within a chunk seg(t, s) = cum_t − cum_s (Q terms at most: the difference loses nothing that
    // matters in float32, as mamba-ssm's kernels do); across chunks the sums are taken as masked
    // cumulative sums (segmentSumsT) because they span the whole sequence.
    const fromStart = tf.cumsum(aH, 3); // [b, h, nc, Q]: cum_t = Σ_{r≤t} a_r within the chunk
    let keep: Tensor = upperTriangle(Q, false); // s ≤ t
    if (run) keep = tf.logicalAnd(tf.cast(keep, 'bool'), tf.expandDims(tf.equal(tf.expandDims(run, 3), tf.expandDims(run, 2)), 1)); // [b, 1, nc, Q, Q]
    const seg = tf.sub(tf.expandDims(fromStart, 3), tf.expandDims(fromStart, 4)); // [b, h, nc, Q(s), Q(t)] = cum_t − cum_s
    const decay = tf.exp(tf.add(seg, logMask(keep)));
    const BC = tf.expandDims(tf.matMul(Bg, Cg, false, true), 1); // [b·g, 1, nc, Q(s), Q(t)]
    const Mt = tf.reshape(tf.mul(tf.reshape(decay, [bg, hg, nc, Q, Q]), BC), [b, h, nc, Q, Q]);
    const yDiag = tf.matMul(Mt, uH, true, false); // [b, h, nc, Q, p]

    // 2. each chunk's final state from zero: state = Bᵀ·(w ∘ u), w_s = exp(seg(last, s))
    const total = tf.slice(fromStart, [0, 0, 0, Q - 1], [b, h, nc, 1]); // [b, h, nc, 1]
    let toEnd = tf.exp(tf.sub(total, fromStart)); // exp(seg(last, s)): a sum over (s, last] ≤ 0
    if (run) toEnd = tf.mul(toEnd, tf.expandDims(tf.cast(tf.equal(run, tf.slice(run, [0, 0, Q - 1], [b, nc, 1])), 'float32'), 1));
    const wu = tf.reshape(tf.transpose(tf.reshape(tf.mul(uH, tf.expandDims(toEnd, 4)), [bg, hg, nc, Q, p]), [0, 2, 3, 1, 4]), [bg, nc, Q, hg * p]);
    const stateG = tf.matMul(Bg, wu, true, false); // [b·g, nc, n, hg·p]
    const state = tf.reshape(tf.transpose(tf.reshape(stateG, [bg, nc, n, hg, p]), [0, 3, 1, 2, 4]), [b, h, nc, n * p]);

    // 3. inter-chunk: H_c (the state entering chunk c, c = nc: the final state) as one product over chunks
    const init = options.initialStates ? tf.reshape(tf.transpose(options.initialStates, [0, 1, 3, 2]), [b, h, 1, n * p]) : tf.zeros([b, h, 1, n * p]);
    const states = tf.concat([init, state], 2); // [b, h, nc + 1, n·p]: entry k is the state after chunk k − 1
    const totals = tf.concat([tf.zeros([b, h, 1]), tf.reshape(total, [b, h, nc])], 2); // [b, h, nc + 1]
    let keepC: Tensor = upperTriangle(nc + 1, false); // [k, c]: k ≤ c
    let runIn: Tensor | undefined; // [b, nc]: the run id at the end of the previous chunk (0 before the first)
    if (run) {
      const ends = tf.concat([tf.zeros([b, 1]), tf.reshape(tf.slice(run, [0, 0, Q - 1], [b, nc, 1]), [b, nc])], 1); // [b, nc + 1]
      keepC = tf.logicalAnd(tf.cast(keepC, 'bool'), tf.expandDims(tf.equal(tf.expandDims(ends, 2), tf.expandDims(ends, 1)), 1));
      runIn = tf.slice(ends, [0, 0], [b, nc]);
    }
    const across = tf.exp(tf.add(segmentSumsT(totals), logMask(keepC))); // [b, h, nc + 1 (k), nc + 1 (c)]
    const H = tf.matMul(across, states, true, false); // [b, h, nc + 1, n·p]
    const final = tf.transpose(tf.reshape(tf.slice(H, [0, 0, nc, 0], [b, h, 1, n * p]), [b, h, n, p]), [0, 1, 3, 2]);

    // 4. off-diagonal output: Y_off[t] = exp(Σ_{r≤t} a_r)·C_t·H_c
    const Hg = tf.reshape(tf.transpose(tf.reshape(tf.slice(H, [0, 0, 0, 0], [b, h, nc, n * p]), [bg, hg, nc, n, p]), [0, 2, 3, 1, 4]), [bg, nc, n, hg * p]);
    const CH = tf.transpose(tf.reshape(tf.matMul(Cg, Hg), [b, g, nc * Q, hg * p]), [0, 2, 1, 3]); // [b, L, g, hg·p]
    let fromIn = tf.exp(fromStart); // [b, h, nc, Q]
    if (run && runIn) fromIn = tf.mul(fromIn, tf.expandDims(tf.cast(tf.equal(run, tf.expandDims(runIn, 2)), 'float32'), 1));
    const yOff = tf.mul(tf.reshape(CH, [b, nc, Q, h, p]), tf.expandDims(tf.transpose(fromIn, [0, 2, 3, 1]), 4)); // [b, nc, Q, h, p]

    // 5. y = (Y_diag + Y_off + D·x)·silu(z)
    let y: Tensor = tf.add(tf.transpose(yDiag, [0, 2, 3, 1, 4]), yOff);
    y = tf.reshape(y, [b, nc * Q, h, p]);
    if (pad) y = tf.slice(y, [0, 0, 0, 0], [b, l, h, p]);
    if (options.D) y = tf.add(y, tf.mul(x, tf.reshape(options.D, [h, 1])));
    if (options.z) y = tf.mul(y, tf.mul(options.z, tf.sigmoid(options.z)));
    return { y, final };
  });
  if (!options.returnFinalStates) {
    out.final.dispose();
    return { y: out.y as Tensor4D };
  }
  return { y: out.y as Tensor4D, finalStates: out.final as Tensor4D };
}
