/**
 * Mamba-2 under context parallelism by **state passing** (the `core` of `Mamba2Mixer`):
 *
 * 1. the causal conv of each local chunk starts from its k−1 halo, the last conv inputs of the
 *    previous chunk, received from that chunk's owner (rank r's first chunk from rank r−1's first;
 *    its second from rank r+1's second, or on the last rank from its own first chunk);
 * 2. each chunk is scanned from a zero state (`ssdChunkScan`, both chunks as one batch),
 *    returning its final state;
 * 3. the chunk summaries — decay `exp(Σ Δ·A)` `[batch, nheads]` and final state
 *    `[batch, nheads, headdim, dstate]`, float32, independent of the sequence length — are
 *    combined by the exclusive scan over chunks into each chunk's true initial state S_init;
 * 4. the outputs get the correction `exp(cum_t) · (C_t · S_init)`, cum_t = Σ_{s≤t} Δ_s·A within
 *    the chunk (what S_init contributes to `y_t = S_t · C_t`).
 *
 * Each head reads its own group's B and C (the mixer's head-to-group map: even, or a routed
 * tensor-parallel rank's uneven one) in the scan and in the correction.
 *
 * The backward is autodiff through these steps: the gradients of the initial states go back to
 * the earlier chunks' owners through the scan's reduce-scatter, the halos' gradients through the
 * exchanges.
 */
import { causalConv1d, ssdChunkScan } from '@falcon/mamba2';
import { contextParallelLayout, exchange, exclusiveChunkScan } from '@falcon/parallel';
import type { ProcessGroup } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { convWeight, groupsOfHeads, headGroupsOf, perHead, stateMatrix, timeStep } from './ssd_terms.js';
import type { SsdMixerTerms } from './ssd_terms.js';

/**
 * The conv + SSD of this rank's two chunks with the state passed between ranks.
 * @param xBC - conv input `[batch, 2L, conv_dim]` (this rank's two chunks)
 * @param dt - raw time steps `[batch, 2L, nheads]`
 * @param mixer - the mixer whose parameters are used (or a tensor-parallel rank's view of its heads)
 * @param seqlen - the whole sequence length
 * @param mask - padding mask of this rank's two chunks `[batch, 2L]` (1 real / 0 padding; default none): as on one rank, the conv outputs of padding are zeroed (the mixer has zeroed its input)
 * @returns the SSD output `[batch, 2L, nheads, headdim]`
 */
export function statePassingScan(xBC: Tensor, dt: Tensor, mixer: SsdMixerTerms, group: ProcessGroup, seqlen: number, mask?: Tensor): Tensor {
  const layout = contextParallelLayout(seqlen, group.size, group.rank);
  const L = layout.chunkLength;
  const k1 = mixer.dConv - 1;
  if (L < k1) throw new RangeError(`context parallelism (state passing): each chunk (${L} tokens = seqlen ${seqlen} / 2·cp ${2 * group.size}) must hold at least dConv − 1 = ${k1} tokens for the conv halo`);
  const [b] = xBC.shape;
  if (mask && (mask.rank !== 2 || mask.shape[0] !== b || mask.shape[1] !== 2 * L)) throw new RangeError(`context parallelism (state passing): the mask [${mask.shape.join(',')}] must be this rank's [batch ${b}, ${2 * L}]`);
  const { nHeads: h, headDim: p, nGroups: g, dState: n, dSsm } = mixer;
  const c = group.size;
  const r = group.rank;
  const groupOf = headGroupsOf(mixer, 'context parallelism (state passing)');
  const P = mixer.parameters();
  const stackChunks = (t: Tensor) => tf.concat(tf.split(t, 2, 1), 0); // [b, 2L, …] → [2b, L, …]
  const unstackChunks = (t: Tensor) => tf.concat(tf.split(t, 2, 0), 1); // [2b, L, …] → [b, 2L, …]
  return tf.tidy(() => {
    // 1. halos: the last k−1 conv inputs of the previous chunk
    const [first, second] = tf.split(xBC, 2, 1);
    const tail = (t: Tensor) => tf.slice(t, [0, L - k1, 0], [-1, k1, -1]);
    const haloFirst = exchange(tail(first), { group: group, sendTo: r + 1 < c ? r + 1 : null, recvFrom: r > 0 ? r - 1 : null, tag: 0x5200 });
    // the last rank's second chunk follows its own first chunk (the exchange then gives zeros)
    const fromNext = exchange(tail(second), { group, sendTo: r > 0 ? r - 1 : null, recvFrom: r + 1 < c ? r + 1 : null, tag: 0x5202 });
    const haloSecond = r === c - 1 ? tf.add(fromNext, tail(first)) : fromNext;
    const conv = causalConv1d(stackChunks(xBC), convWeight(mixer), {
      bias: P['conv1d.bias'],
      silu: true,
      initialState: tf.concat([haloFirst, haloSecond], 0),
    }).y;
    const masked = mask ? tf.mul(conv, tf.expandDims(stackChunks(tf.cast(mask, 'float32')), 2)) : conv;
    const [x, B, C] = tf.split(masked, [dSsm, g * n, g * n], -1);
    const Bh = tf.reshape(B, [2 * b, L, g, n]);
    const Ch = tf.reshape(C, [2 * b, L, g, n]);
    const A = stateMatrix(mixer);
    // 2. each chunk from a zero state
    const dts = stackChunks(dt);
    const local = ssdChunkScan(tf.reshape(x, [2 * b, L, h, p]), dts, A, groupsOfHeads(Bh, groupOf, 0, h), groupsOfHeads(Ch, groupOf, 0, h), {
      D: P.D,
      dtBias: P.dt_bias,
      dtSoftplus: true,
      dtLimit: mixer.timeStepLimit,
      chunkSize: mixer.chunkSize,
      returnFinalStates: true,
    });
    // 3. summaries and the exclusive scan over chunks
    // (along the last axis: the gradient of tfjs' cumsum is wrong on other axes)
    const cum = tf.transpose(tf.cumsum(tf.transpose(tf.mul(timeStep(dts, P.dt_bias, mixer), A), [0, 2, 1]), 2), [0, 2, 1]); // [2b, L, h]
    const decay = tf.exp(tf.reshape(tf.slice(cum, [0, L - 1, 0], [-1, 1, -1]), [2, b, h, 1, 1]));
    const init = tf.reshape(exclusiveChunkScan(decay, tf.reshape(local.finalStates!, [2, b, h, p, n]), { group }), [2 * b, h, p, n]);
    // 4. y_t += exp(cum_t) · (S_init · C_t)
    const Cph = tf.transpose(perHead(Ch, groupOf), [0, 2, 3, 1]); // [2b, h, n, L], each head its group's C
    const sc = tf.transpose(tf.matMul(init, Cph), [0, 3, 1, 2]); // [2b, h, p, L] → [2b, L, h, p]
    const y = tf.add(local.y, tf.mul(sc, tf.expandDims(tf.exp(cum), 3)));
    return unstackChunks(y);
  });
}
