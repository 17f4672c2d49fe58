/**
 * `PackedBitLinear`: the inference form of a BitLinear layer: a 2-bit packed ternary weight
 * `[ceil(out/4), in]` (transformers' layout) and one weight scale, run with int8 activations
 * through {@link ternaryMatmul}. Reads and writes the tensors of transformers' packed `BitLinear`
 * (`weight` U8, `weight_scale` [1], `bias`, `rms_norm.weight` when the input RMSNorm is on).
 */
import { f32ToBf16, opCheck, rmsNorm, tf } from '@falcon/tensor';
import type { OpCheck, Tensor } from '@falcon/tensor';
import { activationQuantInt8 } from './activation_quant_int8.js';
import { checkLayerInput } from './layer_input.js';
import { packedRows, packedWeightTensor, unpackTernary } from './packing.js';
import { byteValues, floatValues, shapeOf } from './raw_tensor.js';
import type { RawTensorData, TensorLike } from './raw_tensor.js';
import { ternaryMatmul } from './ternary_matmul.js';

/**
 * What `weight_scale` means:
 * - `'bitlinear'`: transformers' packed `BitLinear`: `weight_scale` is the quantisation multiplier
 *   `s = 1/mean|W|` and `y = (xq @ Wqᵀ) / (weight_scale · s_x) + bias`;
 * - `'offline'`: transformers' `AutoBitLinear` with offline weights: `weight_scale` is the
 *   dequantisation factor `mean|W|` and `y = ((xq / s_x) @ Wqᵀ + bias) · weight_scale` (bias scaled too).
 */
export type WeightScaleFormat = 'bitlinear' | 'offline';

/** Options of {@link PackedBitLinear}. */
export interface PackedBitLinearOptions {
  /** Input features K. */
  inFeatures: number;
  /** Output features N. */
  outFeatures: number;
  /** Packed ternary weight, bytes `[ceil(N/4), K]` row-major ({@link packTernary}). */
  packed: Uint8Array;
  /** The weight scale, in the meaning of `scaleFormat`. */
  weightScale: number;
  /** Bias `[N]`. */
  bias?: ArrayLike<number>;
  /** Weight `[K]` of the input RMSNorm; when given, the input is normalised first. */
  rmsNormWeight?: ArrayLike<number>;
  /** Epsilon of the input RMSNorm (default 1e-6, as transformers' `rms_norm_eps`). */
  rmsNormEps?: number;
  /** Meaning of `weightScale` (default `'bitlinear'`). */
  scaleFormat?: WeightScaleFormat;
  /** max|x| per token `[..., 1]` of the (normalised) input, for a row-parallel shard (see `BitLinearOptions.activationAbsMax`). */
  activationAbsMax?: (x: Tensor) => Tensor;
}

/** Options of {@link PackedBitLinear.toTensors}. */
export interface ToTensorsOptions {
  /** dtype of `weight_scale`, `bias` and `rms_norm.weight` (default `'F32'`; BitNet checkpoints use `'BF16'`). */
  dtype?: 'F32' | 'BF16';
}

/** Options of {@link PackedBitLinear.fromTensors}. */
export interface FromTensorsOptions {
  /** Output features N (default: the bias length, else `4 · rows` as transformers assumes). */
  outFeatures?: number;
  /** Meaning of `weight_scale` (default `'bitlinear'`). */
  scaleFormat?: WeightScaleFormat;
  /** Epsilon of the input RMSNorm, when `rms_norm.weight` is given (default 1e-6). */
  rmsNormEps?: number;
}

const KEYS = ['weight', 'weight_scale', 'bias', 'rms_norm.weight'];

/** A packed ternary linear layer for inference: `[..., K]` → `[..., N]`. */
export class PackedBitLinear {
  /** Input features K. */
  readonly inFeatures: number;
  /** Output features N. */
  readonly outFeatures: number;
  /** Meaning of {@link PackedBitLinear.weightScale}. */
  readonly scaleFormat: WeightScaleFormat;
  /** The weight scale (f32), in the meaning of `scaleFormat`. */
  readonly weightScale: number;
  /** Epsilon of the input RMSNorm. */
  readonly rmsNormEps: number;
  /** Packed bytes `[ceil(N/4), K]`, transformers' layout. */
  readonly packed: Uint8Array;
  /** The packed bytes as an int32 word tensor `[ceil(ceil(N/4)·K/4)]`, the input of {@link ternaryMatmul}. */
  readonly packedWeight: Tensor;
  /** Bias `[N]`, if any. */
  readonly bias?: Tensor;
  /** Input RMSNorm weight `[K]`, if the norm is on. */
  readonly rmsNormWeight?: Tensor;
  private readonly scaleTensor: Tensor;
  private readonly activationAbsMax?: (x: Tensor) => Tensor;
  private readonly biasValues?: Float32Array;
  private readonly normValues?: Float32Array;

  /** @param options - sizes, packed weight, scale, optional bias and input norm */
  constructor(options: PackedBitLinearOptions) {
    const { inFeatures: k, outFeatures: n, packed, weightScale, bias, rmsNormWeight, rmsNormEps = 1e-6, scaleFormat = 'bitlinear', activationAbsMax } = options;
    const c = opCheck('PackedBitLinear');
    c.arg('inFeatures').positiveInt(k);
    c.arg('outFeatures').positiveInt(n);
    if (!(packed instanceof Uint8Array)) c.arg('packed').fail('must be a Uint8Array of packed bytes');
    if (packed.length !== packedRows(n) * k) c.arg('packed').fail(`has ${packed.length} bytes, expected ceil(${n}/4)·${k} = ${packedRows(n) * k}`);
    c.arg('weightScale').number(weightScale, { above: 0, finite: true });
    if (bias && bias.length !== n) c.arg('bias').fail(`has ${bias.length} values, expected outFeatures = ${n}`);
    if (rmsNormWeight && rmsNormWeight.length !== k) c.arg('rmsNormWeight').fail(`has ${rmsNormWeight.length} values, expected inFeatures = ${k}`);
    c.arg('rmsNormEps').number(rmsNormEps, { min: 0 });
    c.arg('scaleFormat').oneOf(scaleFormat, ['bitlinear', 'offline']);
    this.inFeatures = k;
    this.outFeatures = n;
    this.scaleFormat = scaleFormat;
    this.weightScale = Math.fround(weightScale);
    this.rmsNormEps = rmsNormEps;
    this.activationAbsMax = activationAbsMax;
    this.packed = packed.slice();
    this.packedWeight = packedWeightTensor(this.packed);
    this.scaleTensor = tf.tensor1d([this.weightScale], 'float32');
    if (bias) {
      this.biasValues = Float32Array.from(bias);
      this.bias = tf.tensor1d(this.biasValues, 'float32');
    }
    if (rmsNormWeight) {
      this.normValues = Float32Array.from(rmsNormWeight);
      this.rmsNormWeight = tf.tensor1d(this.normValues, 'float32');
    }
  }

  /**
   * Run the layer: optional input RMSNorm, per-token int8 quantisation, {@link ternaryMatmul}, scales, bias.
   * @param x - float32 `[..., K]`
   * @returns float32 `[..., N]`
   */
  forward(x: Tensor): Tensor {
    checkLayerInput('PackedBitLinear.forward', x, this.inFeatures);
    return tf.tidy(() => {
      const { q, scale } = this.quantize(x);
      return this.forwardQuantized(q, scale);
    });
  }

  /**
   * Whether this layer quantises its input as a plain per-token int8 quantisation (no input
   * RMSNorm, no absMax hook): then layers reading the same input can share one {@link PackedBitLinear.quantize}.
   */
  get plainQuantization(): boolean {
    return !this.rmsNormWeight && !this.activationAbsMax;
  }

  /**
   * The input side of {@link PackedBitLinear.forward}: optional input RMSNorm, then per-token int8
   * quantisation (one kernel without the norm).
   * @param x - float32 `[..., K]`
   * @returns q int32 `[..., K]` (int8 values) and scale float32 `[..., 1]`
   */
  quantize(x: Tensor): { q: Tensor; scale: Tensor } {
    checkLayerInput('PackedBitLinear.quantize', x, this.inFeatures);
    return tf.tidy(() => {
      const xn = this.rmsNormWeight ? rmsNorm(x, this.rmsNormWeight, this.rmsNormEps) : x;
      return activationQuantInt8(xn, { absMax: this.activationAbsMax?.(xn) });
    });
  }

  /**
   * The rest of {@link PackedBitLinear.forward} from {@link PackedBitLinear.quantize}'s output
   * (of this layer, or of a layer with {@link PackedBitLinear.plainQuantization} of the same input
   * when this one has it too): {@link ternaryMatmul}, scales, bias.
   * @param q - int32 `[..., K]` (int8 values)
   * @param scale - float32 `[..., 1]`
   * @returns float32 `[..., N]`
   */
  forwardQuantized(q: Tensor, scale: Tensor): Tensor {
    if (q.dtype !== 'int32' || q.shape[q.rank - 1] !== this.inFeatures) opCheck('PackedBitLinear.forwardQuantized').arg('q').fail(`must be int32 [..., ${this.inFeatures}], got ${q.dtype} [${q.shape}]`);
    if (!tf.util.arraysEqual(scale.shape, [...q.shape.slice(0, -1), 1])) opCheck('PackedBitLinear.forwardQuantized').arg('scale').fail(`must be [${[...q.shape.slice(0, -1), 1]}] (one per token of q), got [${scale.shape}]`);
    return tf.tidy(() => {
      const acc = tf.cast(ternaryMatmul(q, this.packedWeight, this.outFeatures), 'float32');
      if (this.scaleFormat === 'bitlinear') {
        const y = tf.div(acc, tf.mul(this.scaleTensor, scale));
        return this.bias ? tf.add(y, this.bias) : y;
      }
      const y = tf.div(acc, scale);
      return tf.mul(this.bias ? tf.add(y, this.bias) : y, this.scaleTensor);
    });
  }

  /** The ternary weight `[N, K]`, row-major, values in {−1, 0, 1}. */
  ternaryWeight(): Int8Array {
    return unpackTernary(this.packed, this.outFeatures, this.inFeatures);
  }

  /**
   * The layer's tensors under transformers' names: `weight` (U8 `[ceil(N/4), K]`), `weight_scale`
   * (`[1]`), `bias` (`[N]`) and `rms_norm.weight` (`[K]`) when present.
   */
  toTensors(options: ToTensorsOptions = {}): Record<string, RawTensorData> {
    const { dtype = 'F32' } = options;
    opCheck('PackedBitLinear.toTensors').option('dtype').oneOf(dtype, ['F32', 'BF16']);
    const float = (v: Float32Array, shape: number[]): RawTensorData =>
      dtype === 'BF16' ? { dtype, shape, data: f32ToBf16(v) } : { dtype, shape, data: v };
    const out: Record<string, RawTensorData> = {
      weight: { dtype: 'U8', shape: [packedRows(this.outFeatures), this.inFeatures], data: this.packed.slice() },
      weight_scale: float(new Float32Array([this.weightScale]), [1]),
    };
    if (this.biasValues) out.bias = float(this.biasValues.slice(), [this.outFeatures]);
    if (this.normValues) out['rms_norm.weight'] = float(this.normValues.slice(), [this.inFeatures]);
    return out;
  }

  /**
   * Build a layer from tensors under transformers' names (as {@link PackedBitLinear.toTensors} writes
   * them, or as a checkpoint reader returns them: `weight` U8 data or an int32 tensor of bytes).
   * Asynchronous because tfjs tensors on a GPU backend are read asynchronously.
   * @param tensors - `weight`, `weight_scale`, optional `bias` and `rms_norm.weight`
   * @throws if `weight` or `weight_scale` is missing, a name is unknown or a shape does not fit
   */
  static async fromTensors(tensors: Record<string, TensorLike>, options: FromTensorsOptions = {}): Promise<PackedBitLinear> {
    const c: OpCheck = opCheck('PackedBitLinear.fromTensors');
    for (const k of Object.keys(tensors)) if (!KEYS.includes(k)) c.fail(`unknown tensor '${k}' (expected ${KEYS.join(', ')})`);
    const { weight, weight_scale: scale, bias } = tensors;
    const norm = tensors['rms_norm.weight'];
    if (!weight) c.fail(`tensor 'weight' (the packed ternary weight) is missing`);
    if (!scale) c.fail(`tensor 'weight_scale' is missing: a packed BitLinear needs its weight scale (transformers stores it as 'weight_scale', shape [1])`);
    const ws = shapeOf(weight);
    if (ws.length !== 2) c.fail(`tensor 'weight' must be 2-D [ceil(out/4), in], got shape ${c.shape(ws)}`);
    const [rows, k] = ws;
    const scaleValues = await floatValues(scale);
    if (scaleValues.length !== 1) c.fail(`tensor 'weight_scale' must hold one value (shape [1]), got shape ${c.shape(shapeOf(scale))}`);
    const biasValues = bias ? await floatValues(bias) : undefined;
    const n = options.outFeatures ?? biasValues?.length ?? rows * 4;
    if (packedRows(n) !== rows) c.fail(`tensor 'weight' has ${rows} rows, but outFeatures ${n} packs into ceil(${n}/4) = ${packedRows(n)}`);
    return new PackedBitLinear({
      inFeatures: k,
      outFeatures: n,
      packed: await byteValues(weight, c, `tensor 'weight'`),
      weightScale: scaleValues[0],
      bias: biasValues,
      rmsNormWeight: norm ? await floatValues(norm) : undefined,
      rmsNormEps: options.rmsNormEps,
      scaleFormat: options.scaleFormat,
    });
  }

  /** Free the layer's tensors. */
  dispose(): void {
    this.packedWeight.dispose();
    this.scaleTensor.dispose();
    this.bias?.dispose();
    this.rmsNormWeight?.dispose();
  }
}
