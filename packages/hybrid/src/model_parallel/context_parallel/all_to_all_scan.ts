/**
 * Mamba-2 under context parallelism by **all-to-all over heads** (Megatron's form; the `core` of
 * `Mamba2Mixer`): the x and dt of this rank's two chunks for all heads become, by one all-to-all,
 * all positions for h/c heads (B and C, shared by heads, are all-gathered); the sequence is put in
 * order, the conv and the SSD run over the whole sequence for these heads, and a second all-to-all
 * brings the outputs back to this rank's positions for every head. Needs nheads divisible by the
 * group size. Each head reads its own group's B and C (the mixer's head-to-group map: even, or a
 * routed tensor-parallel rank's uneven one). Gradients: the all-to-alls' inverses and the all-gather's reduce-scatter; the conv
 * weights, A_log, D and dt_bias of other ranks' heads get no gradient here (summed over the group).
 */
import { causalConv1d, ssdChunkScan } from '@falcon/mamba2';
import { allToAllMapping, contextParallelLayout, gatherFromSequence, naturalToRankMajor, rankMajorToNatural } from '@falcon/parallel';
import type { ProcessGroup } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { convWeight, groupsOfHeads, headGroupsOf, stateMatrix } from './ssd_terms.js';
import type { SsdMixerTerms } from './ssd_terms.js';

/**
 * The conv + SSD with the heads spread over the group.
 * @param xBC - conv input `[batch, 2L, conv_dim]` (this rank's two chunks)
 * @param dt - raw time steps `[batch, 2L, nheads]`
 * @param mixer - the mixer whose parameters are used (or a tensor-parallel rank's view of its heads)
 * @param seqlen - the whole sequence length
 * @param mask - padding mask of this rank's two chunks `[batch, 2L]` (1 real / 0 padding; default none), all-gathered here: as on one rank, the conv outputs of padding are zeroed (the mixer has zeroed its input)
 * @returns the SSD output `[batch, 2L, nheads, headdim]`
 */
export function allToAllScan(xBC: Tensor, dt: Tensor, mixer: SsdMixerTerms, group: ProcessGroup, seqlen: number, mask?: Tensor): Tensor {
  contextParallelLayout(seqlen, group.size, group.rank);
  const c = group.size;
  const { nHeads: h, headDim: p, nGroups: g, dState: n, dSsm } = mixer;
  if (h % c !== 0) throw new RangeError(`context parallelism (all-to-all mode): nheads ${h} must be divisible by the CP size ${c}; use the state-passing mode`);
  const hc = h / c;
  const groupOf = headGroupsOf(mixer, 'context parallelism (all-to-all mode)');
  const r = group.rank;
  const [b, l2] = xBC.shape;
  if (mask && (mask.rank !== 2 || mask.shape[0] !== b || mask.shape[1] !== l2)) throw new RangeError(`context parallelism (all-to-all mode): the mask [${mask.shape.join(',')}] must be this rank's [batch ${b}, ${l2}]`);
  const P = mixer.parameters();
  return tf.tidy(() => {
    const [x, BC] = tf.split(xBC, [dSsm, 2 * g * n], -1);
    // all positions, this rank's heads (rank-major order → natural order)
    const toHeads = (t: Tensor) => rankMajorToNatural(c === 1 ? t : allToAllMapping(t, { group, splitAxis: 2, concatAxis: 1 }), c);
    const xh = toHeads(tf.reshape(x, [b, l2, h, p])); // [b, l, hc, p]
    const dth = toHeads(tf.expandDims(dt, 3)); // [b, l, hc, 1]
    const bc = rankMajorToNatural(c === 1 ? BC : gatherFromSequence(BC, { group, axis: 1 }), c); // [b, l, 2gn]
    // the conv over this rank's x channels and every B/C channel
    const W = convWeight(mixer);
    const bias = P['conv1d.bias'];
    const pick = (t: Tensor, axis0: boolean) => {
      const sliceX = axis0 ? tf.slice(t, [r * hc * p, 0], [hc * p, -1]) : tf.slice(t, [r * hc * p], [hc * p]);
      const sliceBC = axis0 ? tf.slice(t, [dSsm, 0], [2 * g * n, -1]) : tf.slice(t, [dSsm], [2 * g * n]);
      return tf.concat([sliceX, sliceBC], 0);
    };
    const conv = causalConv1d(tf.concat([tf.reshape(xh, [b, seqlen, hc * p]), bc], -1), pick(W, true), {
      ...(bias ? { bias: pick(bias, false) } : {}),
      silu: true,
    }).y;
    // padding's conv outputs zeroed, as on one rank (the whole mask in natural order; not differentiated)
    const whole = mask && rankMajorToNatural(c === 1 ? tf.cast(mask, 'float32') : gatherFromSequence(tf.cast(mask, 'float32'), { group, axis: 1 }), c);
    const masked = whole ? tf.mul(conv, tf.expandDims(whole, 2)) : conv;
    const [xc, Bc, Cc] = tf.split(masked, [hc * p, g * n, g * n], -1);
    // B and C of this rank's heads: each head's group, or the whole groups when they align
    const headB = groupsOfHeads(tf.reshape(Bc, [b, seqlen, g, n]), groupOf, r * hc, hc);
    const headC = groupsOfHeads(tf.reshape(Cc, [b, seqlen, g, n]), groupOf, r * hc, hc);
    const mine = (t: Tensor) => tf.slice(t, [r * hc], [hc]);
    const y = ssdChunkScan(tf.reshape(xc, [b, seqlen, hc, p]), tf.reshape(dth, [b, seqlen, hc]), mine(stateMatrix(mixer)), headB, headC, {
      D: mine(P.D),
      dtBias: mine(P.dt_bias),
      dtSoftplus: true,
      dtLimit: mixer.timeStepLimit,
      chunkSize: mixer.chunkSize,
    }).y;
    // back to this rank's positions, every head
    const back = naturalToRankMajor(y, c);
    return c === 1 ? back : allToAllMapping(back, { group, splitAxis: 1, concatAxis: 2 });
  });
}

