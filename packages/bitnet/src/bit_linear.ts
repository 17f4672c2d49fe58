/**
 * `BitLinear`: the BitNet b1.58 quantisation-aware linear layer for training. Full-precision
 * latent weights (tf.Variable); the forward quantises the weight with {@link weightQuant} (absmean
 * ternary) and the input with {@link activationQuant} (per-token 8 bits), both with the
 * straight-through estimator, after an optional input RMSNorm (transformers' `use_rms_norm`); this
 * is transformers' `AutoBitLinear` with online quantisation. `freeze()` turns the trained layer into
 * a {@link PackedBitLinear}. For tensor parallelism, `weightMeanAbs` supplies the mean|W| of the
 * whole weight to a shard (and `activationAbsMax` the max|x| of the whole input row to a
 * row-parallel shard), so the ops need no change.
 */
import { init, opCheck, rmsNorm, tf, variableFrom } from '@falcon/tensor';
import type { Tensor, Variable } from '@falcon/tensor';
import { activationQuant } from './activation_quant.js';
import { checkLayerInput } from './layer_input.js';
import { PackedBitLinear } from './packed_bit_linear.js';
import type { WeightScaleFormat } from './packed_bit_linear.js';
import { packTernary } from './packing.js';
import { ternarize, weightQuant } from './weight_quant.js';

/** Options of {@link BitLinear}. */
export interface BitLinearOptions {
  /** Input features K. */
  inFeatures: number;
  /** Output features N. */
  outFeatures: number;
  /** Add a bias `[N]` (default false, as BitNet models). */
  bias?: boolean;
  /** Normalise the input with an RMSNorm with its own weight `[K]` first (default false). */
  useRmsNorm?: boolean;
  /** Epsilon of the input RMSNorm (default 1e-6). */
  rmsNormEps?: number;
  /** Seed of the initial latent weight and bias, U(−1/√K, 1/√K) as torch's nn.Linear (default 0). */
  seed?: number;
  /** Initial latent weight `[N, K]` instead of the seeded one (copied). */
  weight?: Tensor;
  /**
   * mean|W| of the whole weight (`[]` or `[1]`) given this layer's weight, for a tensor-parallel
   * shard (e.g. all-reduce Σ|W| over ranks, divide by the global count). Default: mean of this weight.
   */
  weightMeanAbs?: (weight: Tensor) => Tensor;
  /**
   * max|x| per token `[..., 1]` over the whole input features given this layer's (normalised)
   * input `[..., K]`, for a row-parallel shard whose input is a slice of the features (all-reduce
   * max over ranks). Default: max over this input's last dimension.
   */
  activationAbsMax?: (x: Tensor) => Tensor;
}

/** Options of {@link BitLinear.freeze}. */
export interface FreezeOptions {
  /** How the packed layer stores its weight scale (default `'bitlinear'`, transformers' packed BitLinear). */
  scaleFormat?: WeightScaleFormat;
}

/** A quantisation-aware ternary linear layer: `[..., K]` → `[..., N]`. */
export class BitLinear {
  /** Input features K. */
  readonly inFeatures: number;
  /** Output features N. */
  readonly outFeatures: number;
  /** Epsilon of the input RMSNorm. */
  readonly rmsNormEps: number;
  /** Latent full-precision weight `[N, K]`. */
  readonly weight: Variable;
  /** Bias `[N]`, if any. */
  readonly bias?: Variable;
  /** Input RMSNorm weight `[K]`, if the norm is on. */
  readonly rmsNormWeight?: Variable;
  private readonly weightMeanAbs?: (weight: Tensor) => Tensor;
  private readonly activationAbsMax?: (x: Tensor) => Tensor;

  /** @param options - sizes, bias, input norm, initialisation, sharded scale */
  constructor(options: BitLinearOptions) {
    const { inFeatures: k, outFeatures: n, bias = false, useRmsNorm = false, rmsNormEps = 1e-6, seed = 0, weight, weightMeanAbs, activationAbsMax } = options;
    const c = opCheck('BitLinear');
    c.arg('inFeatures').positiveInt(k);
    c.arg('outFeatures').positiveInt(n);
    c.arg('rmsNormEps').number(rmsNormEps, { min: 0 });
    if (weight && (weight.dtype !== 'float32' || !tf.util.arraysEqual(weight.shape, [n, k]))) {
      c.arg('weight').fail(`must be float32 ${c.shape([n, k])}, got ${weight.dtype} ${c.shape(weight.shape)}`);
    }
    this.inFeatures = k;
    this.outFeatures = n;
    this.rmsNormEps = rmsNormEps;
    this.weightMeanAbs = weightMeanAbs;
    this.activationAbsMax = activationAbsMax;
    const bound = 1 / Math.sqrt(k);
    this.weight = variableFrom(weight ? weight.clone() : init.uniform([n, k], { seed, min: -bound, max: bound }));
    if (bias) this.bias = variableFrom(init.uniform([n], { seed: seed + 1, min: -bound, max: bound }));
    if (useRmsNorm) this.rmsNormWeight = variableFrom(init.ones([k]));
  }

  /**
   * The quantisation-aware forward: `y = actQuant(norm(x)) @ weightQuant(W)ᵀ + b`.
   * @param x - float32 `[..., K]`
   * @returns float32 `[..., N]`; differentiable (STE through the quantisers)
   */
  forward(x: Tensor): Tensor {
    checkLayerInput('BitLinear.forward', x, this.inFeatures);
    return tf.tidy(() => {
      const xn = this.rmsNormWeight ? rmsNorm(x, this.rmsNormWeight, this.rmsNormEps) : x;
      const xq = activationQuant(xn, { absMax: this.activationAbsMax?.(xn) }).y;
      const wq = weightQuant(this.weight, { meanAbs: this.meanAbs() }).y;
      const y = tf.reshape(tf.matMul(tf.reshape(xq, [-1, this.inFeatures]), wq, false, true), [...x.shape.slice(0, -1), this.outFeatures]);
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }

  /** The trainable variables: weight, then bias and RMSNorm weight when present. */
  parameters(): Variable[] {
    return Object.values(this.namedParameters());
  }

  /** The trainable variables under transformers' names (`weight`, `bias`, `rms_norm.weight`). */
  namedParameters(): Record<string, Variable> {
    const p: Record<string, Variable> = { weight: this.weight };
    if (this.bias) p.bias = this.bias;
    if (this.rmsNormWeight) p['rms_norm.weight'] = this.rmsNormWeight;
    return p;
  }

  /**
   * The packed inference layer of the current weights: ternary weight packed in transformers'
   * layout, the weight scale in the chosen format, bias and RMSNorm weight copied. Its forward
   * equals this layer's forward up to f32 rounding. Asynchronous because it reads the weights back
   * from the backend (GPU tensors cannot be read synchronously).
   */
  async freeze(options: FreezeOptions = {}): Promise<PackedBitLinear> {
    const { scaleFormat = 'bitlinear' } = options;
    opCheck('BitLinear.freeze').option('scaleFormat').oneOf(scaleFormat, ['bitlinear', 'offline']);
    const meanAbs = this.meanAbs();
    const { ternary, scale } = ternarize(this.weight, { meanAbs });
    meanAbs?.dispose();
    const [t, sv, bv, gv] = await Promise.all([ternary.data(), scale.data(), this.bias?.data(), this.rmsNormWeight?.data()]);
    ternary.dispose();
    scale.dispose();
    const s = sv[0];
    const packed = packTernary(t, this.outFeatures, this.inFeatures);
    let bias = bv ? Float32Array.from(bv) : undefined;
    // offline format: y = (xq/s_x @ Wqᵀ + b')·mean|W| must equal xq/s_x @ (Wq/s)ᵀ + b, so b' = b·s
    if (bias && scaleFormat === 'offline') bias = bias.map((b) => b * s);
    return new PackedBitLinear({
      inFeatures: this.inFeatures,
      outFeatures: this.outFeatures,
      packed,
      weightScale: scaleFormat === 'offline' ? 1 / s : s,
      bias,
      rmsNormWeight: gv,
      rmsNormEps: this.rmsNormEps,
      scaleFormat,
      activationAbsMax: this.activationAbsMax,
    });
  }

  /** Free the layer's variables. */
  dispose(): void {
    for (const v of this.parameters()) v.dispose();
  }

  private meanAbs(): Tensor | undefined {
    return this.weightMeanAbs ? this.weightMeanAbs(this.weight) : undefined;
  }
}
