/**
 * Pieces of the Mamba-2 mixer that both context-parallel modes share: the time step Δ, the conv
 * weight as `[channels, dConv]`, the head-to-group map (even, or a routed tensor-parallel rank's
 * uneven one: each head reads its own group's B and C).
 */
import type { Mamba2Mixer } from '@falcon/mamba2';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/**
 * What the context-parallel cores read of a mixer: its sizes, settings and parameters
 * (`Mamba2Mixer` has them; so has a tensor-parallel rank's view of its own heads).
 */
export type SsdMixerTerms = Pick<Mamba2Mixer, 'nHeads' | 'headDim' | 'nGroups' | 'dState' | 'dConv' | 'dSsm' | 'convDim' | 'chunkSize' | 'timeStepLimit'> & {
  /** `conv1d.weight` `[conv_dim, 1, dConv]`, `conv1d.bias`, `dt_bias`, `A_log`, `D` (transformers names). */
  parameters(): Record<string, Tensor>;
  /**
   * The group (in `[0, nGroups)`) of each head, `nHeads` entries (default even: head i reads group
   * ⌊i / (nHeads / nGroups)⌋); a routed tensor-parallel rank's heads may spread over its groups unevenly.
   */
  headGroups?: readonly number[];
};

/**
 * The group of each of the mixer's heads (`nHeads` entries; {@link SsdMixerTerms.headGroups} or the even map).
 * @throws naming the problem when the given map has the wrong length or a group out of range
 */
export function headGroupsOf(mixer: SsdMixerTerms, where: string): number[] {
  const { nHeads: h, nGroups: g } = mixer;
  if (!mixer.headGroups) {
    if (h % g !== 0) throw new RangeError(`${where}: nheads ${h} must be divisible by ngroups ${g} without a head-to-group map`);
    return Array.from({ length: h }, (_, i) => Math.floor(i / (h / g)));
  }
  const m = mixer.headGroups;
  if (m.length !== h || m.some((j) => !Number.isInteger(j) || j < 0 || j >= g)) throw new RangeError(`${where}: the head-to-group map [${m.join(',')}] must give each of the ${h} heads a group in [0, ${g})`);
  return [...m];
}

/** `Δ = clamp(softplus(dt + dt_bias), time_step_limit)` (the mixer's settings), `[..., nheads]` as dt. */
export function timeStep(dt: Tensor, dtBias: Tensor, mixer: SsdMixerTerms): Tensor {
  const [lo, hi] = mixer.timeStepLimit;
  const d = tf.softplus(tf.add(dt, dtBias));
  return lo === 0 && hi === Infinity ? d : tf.clipByValue(d, lo, hi);
}

/** The depthwise conv weight `[conv_dim, dConv]`. */
export function convWeight(mixer: SsdMixerTerms): Tensor {
  return tf.reshape(mixer.parameters()['conv1d.weight'], [mixer.convDim, mixer.dConv]);
}

/** `A = −exp(A_log)` `[nheads]`. */
export function stateMatrix(mixer: SsdMixerTerms): Tensor {
  return tf.neg(tf.exp(mixer.parameters().A_log));
}

/**
 * B or C per head: `[..., ngroups, dstate]` → `[..., nheads, dstate]` (head i reads group `groupOf[i]`).
 * @param groupOf - the group of each head ({@link headGroupsOf})
 */
export function perHead(t: Tensor, groupOf: readonly number[]): Tensor {
  const g = t.shape[t.rank - 2] as number;
  if (g === groupOf.length && groupOf.every((j, i) => j === i)) return t;
  return tf.gather(t, tf.tensor1d(Int32Array.from(groupOf), 'int32'), t.rank - 2);
}

/**
 * The B (or C) that heads `[h0, h0 + count)` read, as `[..., groups', dstate]` with these heads
 * spread evenly over groups' (the SSD scan's grouping: head i of them reads group ⌊i / (count / groups')⌋):
 * a slice of whole groups when their groups are a contiguous run each serving the same number of
 * them, else one entry per head.
 * @param t - `[..., ngroups, dstate]`
 * @param groupOf - the group of every head ({@link headGroupsOf})
 */
export function groupsOfHeads(t: Tensor, groupOf: readonly number[], h0: number, count: number): Tensor {
  const ax = t.rank - 2;
  const g = t.shape[ax] as number;
  const sub = groupOf.slice(h0, h0 + count);
  const g0 = sub[0];
  const ng = sub[count - 1] - g0 + 1;
  const even = ng > 0 && count % ng === 0 && sub.every((j, i) => j === g0 + Math.floor(i / (count / ng)));
  if (!even) return perHead(t, sub);
  if (ng === g) return t;
  return tf.slice(t, t.shape.map((_, i) => (i === ax ? g0 : 0)), t.shape.map((s, i) => (i === ax ? ng : s)));
}
