/**
 * Pieces of the Mamba-2 mixer that both context-parallel modes share: the time step Δ, the conv
 * weight as `[channels, dConv]`, the head-to-group map.
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
};

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
 * B or C per head: `[..., ngroups, dstate]` → `[..., nheads, dstate]` (head i reads group i / (nheads / ngroups)).
 */
export function perHead(t: Tensor, nHeads: number): Tensor {
  const g = t.shape[t.rank - 2] as number;
  if (g === nHeads) return t;
  const groupOf = Int32Array.from({ length: nHeads }, (_, i) => Math.floor(i / (nHeads / g)));
  return tf.gather(t, tf.tensor1d(groupOf, 'int32'), t.rank - 2);
}
