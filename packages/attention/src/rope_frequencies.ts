/**
 * RoPE inverse frequencies and attention scaling as transformers' `ROPE_INIT_FUNCTIONS` compute
 * them from `rope_parameters` (types default, linear, dynamic, yarn, llama3), in float32 like
 * transformers, for any `rope_theta` (Falcon-H1 uses very large ones, e.g. 1e11).
 */
import type { OpCheck } from '@falcon/tensor';
import { check } from './validate.js';

const FN = 'ropeFrequencies';

/** The RoPE types {@link ropeFrequencies} implements. */
export type RopeType = 'default' | 'linear' | 'dynamic' | 'yarn' | 'llama3';

/** `rope_parameters` of a transformers config (snake_case names kept so a config.json entry fits). */
export interface RopeParameters {
  /** Which scaling (default `'default'`: none). */
  rope_type?: RopeType;
  /** The base θ of `inv_freq_j = θ^(−2j/dim)`. */
  rope_theta: number;
  /** Fraction of the head dim that rotates (default 1); the rest passes through. */
  partial_rotary_factor?: number;
  /** Scaling factor (linear, dynamic, yarn, llama3). */
  factor?: number;
  /** Context length the model was pre-trained with (llama3, yarn). */
  original_max_position_embeddings?: number;
  /** llama3: wavelengths above `original_max_position_embeddings / low_freq_factor` are divided by `factor`. */
  low_freq_factor?: number;
  /** llama3: wavelengths below `original_max_position_embeddings / high_freq_factor` are kept. */
  high_freq_factor?: number;
  /** yarn: multiplier of cos/sin (default from `factor`, `mscale`, `mscale_all_dim`). */
  attention_factor?: number;
  /** yarn: fast rotation boundary (default 32). */
  beta_fast?: number;
  /** yarn: slow rotation boundary (default 1). */
  beta_slow?: number;
  /** yarn: DeepSeek-style attention factor numerator. */
  mscale?: number;
  /** yarn: DeepSeek-style attention factor denominator. */
  mscale_all_dim?: number;
  /** yarn: round the correction range to integers (default true). */
  truncate?: boolean;
}

/** What {@link applyRope} needs: the inverse frequencies and the scaling of cos/sin. */
export interface RopeFrequencies {
  /** float32 inverse frequencies `[rotaryDim / 2]`. */
  invFreq: Float32Array;
  /** Multiplier of cos and sin (1 except yarn). */
  attentionScaling: number;
  /** Number of leading head dims that rotate (even, ≤ headDim). */
  rotaryDim: number;
}

/** Options of {@link ropeFrequencies}. */
export interface RopeFrequencyOptions {
  /** The model's `max_position_embeddings` (dynamic; yarn without `original_max_position_embeddings`). */
  maxPositionEmbeddings?: number;
  /** dynamic: the current sequence length (max position + 1); below `maxPositionEmbeddings` it has no effect. */
  seqLen?: number;
}

const f32 = Math.fround;

function need(params: RopeParameters, key: keyof RopeParameters, type: string): number {
  const x = params[key];
  check(FN).require(typeof x === 'number' && Number.isFinite(x), () => `rope_type '${type}' needs a finite number '${key}', got ${String(x)}`);
  return x as number;
}

/** `1 / base^(2j/dim)` in float32, as `1.0 / (base ** (arange(0, dim, 2).float() / dim))`. */
function defaultInvFreq(base: number, dim: number): Float32Array {
  const inv = new Float32Array(dim / 2);
  const b = f32(base);
  for (let j = 0; j < dim / 2; j++) inv[j] = f32(1 / f32(Math.pow(b, f32((2 * j) / dim))));
  return inv;
}

/**
 * The inverse frequencies and cos/sin scaling of RoPE for one head dim, as transformers'
 * `ROPE_INIT_FUNCTIONS[rope_type]` (default, linear, dynamic, yarn, llama3).
 *
 * @param params - the config's `rope_parameters`
 * @param headDim - the attention head dim `headDim`
 * @throws on an unknown type, a missing parameter or a rotary dim that is not even
 */
export function ropeFrequencies(params: RopeParameters, headDim: number, options: RopeFrequencyOptions = {}): RopeFrequencies {
  const c: OpCheck = check(FN);
  const type = params.rope_type ?? 'default';
  const base = c.attr('rope_theta').number(params.rope_theta, { above: 1, finite: true });
  c.arg('headDim').int(headDim, { min: 2 });
  const dim = Math.floor(headDim * (params.partial_rotary_factor ?? 1));
  if (dim < 2 || dim % 2 !== 0 || dim > headDim) c.fail(`the rotary dim (headDim·partial_rotary_factor = ${dim}) must be even, ≥ 2 and ≤ headDim ${headDim}`);
  const half = dim / 2;
  switch (type) {
    case 'default':
      return { invFreq: defaultInvFreq(base, dim), attentionScaling: 1, rotaryDim: dim };
    case 'linear': {
      const factor = need(params, 'factor', type);
      const inv = defaultInvFreq(base, dim);
      for (let j = 0; j < half; j++) inv[j] = f32(inv[j] / factor);
      return { invFreq: inv, attentionScaling: 1, rotaryDim: dim };
    }
    case 'dynamic': {
      const factor = need(params, 'factor', type);
      const maxPos = options.maxPositionEmbeddings;
      if (!maxPos || maxPos < 1) c.fail(`rope_type 'dynamic' needs options.maxPositionEmbeddings`);
      const seqLen = options.seqLen ?? maxPos;
      // transformers computes the initial base in float64 (python numbers) and the updated one, for
      // seq_len > max_position_embeddings, with float32 tensor ops (the exponent stays a float64 scalar)
      const b =
        seqLen > maxPos
          ? f32(f32(base) * f32(Math.pow(f32(f32(f32(f32(factor) * f32(seqLen)) / maxPos) - f32(factor - 1)), dim / (dim - 2))))
          : base * ((factor * maxPos) / maxPos - (factor - 1)) ** (dim / (dim - 2));
      return { invFreq: defaultInvFreq(b, dim), attentionScaling: 1, rotaryDim: dim };
    }
    case 'llama3': {
      const factor = need(params, 'factor', type);
      const lowFf = need(params, 'low_freq_factor', type);
      const highFf = need(params, 'high_freq_factor', type);
      const old = need(params, 'original_max_position_embeddings', type);
      const inv = defaultInvFreq(base, dim);
      const lowWavelen = old / lowFf;
      const highWavelen = old / highFf;
      // float32 tensor ops with float32 scalars, rounded op by op as in transformers
      for (let j = 0; j < half; j++) {
        const wavelen = f32(f32(2 * Math.PI) / inv[j]);
        if (wavelen > lowWavelen) inv[j] = f32(inv[j] / f32(factor));
        else if (!(wavelen < highWavelen)) {
          const smooth = f32(f32(f32(f32(old) / wavelen) - f32(lowFf)) / f32(highFf - lowFf));
          inv[j] = f32(f32(f32(f32(1 - smooth) * inv[j]) / f32(factor)) + f32(smooth * inv[j]));
        }
      }
      return { invFreq: inv, attentionScaling: 1, rotaryDim: dim };
    }
    case 'yarn': {
      const origMax = params.original_max_position_embeddings ?? options.maxPositionEmbeddings;
      if (!origMax) c.fail(`rope_type 'yarn' needs 'original_max_position_embeddings' (or options.maxPositionEmbeddings)`);
      const factor = params.factor ?? (options.maxPositionEmbeddings ? options.maxPositionEmbeddings / origMax : NaN);
      if (!Number.isFinite(factor)) c.fail(`rope_type 'yarn' needs a finite number 'factor'`);
      const mscaleOf = (s: number, ms = 1) => (s <= 1 ? 1 : 0.1 * ms * Math.log(s) + 1);
      let attn = params.attention_factor;
      if (attn === undefined) attn = params.mscale && params.mscale_all_dim ? mscaleOf(factor, params.mscale) / mscaleOf(factor, params.mscale_all_dim) : mscaleOf(factor);
      const betaFast = params.beta_fast || 32;
      const betaSlow = params.beta_slow || 1;
      const corrDim = (rot: number) => (dim * Math.log(origMax / (rot * 2 * Math.PI))) / (2 * Math.log(base));
      let low = corrDim(betaFast);
      let high = corrDim(betaSlow);
      if (params.truncate ?? true) {
        low = Math.floor(low);
        high = Math.ceil(high);
      }
      low = Math.max(low, 0);
      high = Math.min(high, dim - 1);
      if (low === high) high += 0.001;
      const inv = new Float32Array(half);
      const b = f32(base);
      for (let j = 0; j < half; j++) {
        const posFreq = f32(Math.pow(b, f32((2 * j) / dim)));
        const extra = f32(1 / posFreq);
        const inter = f32(1 / f32(f32(factor) * posFreq));
        const ramp = Math.min(1, Math.max(0, f32(f32(j - low) / f32(high - low))));
        const extraFactor = f32(1 - ramp);
        inv[j] = f32(f32(inter * f32(1 - extraFactor)) + f32(extra * extraFactor));
      }
      return { invFreq: inv, attentionScaling: attn, rotaryDim: dim };
    }
    default:
      c.fail(`unknown rope_type '${String(type)}' (supported: default, linear, dynamic, yarn, llama3)`);
  }
}
