/**
 * The linear map the hybrid model's own projections use: `x @ Wᵀ + b`, or its BitNet b1.58 form
 * (per-token 8-bit activations times the absmean-ternary weight, straight-through in the backward).
 * The weight is a {@link LinearWeight}: a float tensor (the training form, quantised at every call
 * when BitNet) or, after `FalconH1ForCausalLM.packTernary`, a packed 2-bit ternary weight (the
 * inference form: int8 activations through `ternaryMatmul`). Both go through {@link product}.
 */
import { activationQuant, PackedBitLinear, ternaryMatmul, weightQuant } from '@falcon/bitnet';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/**
 * A projection's weight `[out, in]`: a float tensor, or a BitNet weight packed for inference
 * (`PackedBitLinear` without bias: 2-bit ternary values and the weight scale of the whole matrix).
 */
export type LinearWeight = Tensor | PackedBitLinear;

/** `[out, in]` of a {@link LinearWeight}. */
export function weightShape(w: LinearWeight): [number, number] {
  return w instanceof PackedBitLinear ? [w.outFeatures, w.inFeatures] : [w.shape[0] as number, w.shape[1] as number];
}

/**
 * The one product every projection uses: `x @ Wᵀ`, BitNet's `quant8(x) @ ternary(W)ᵀ` for a float
 * weight with `bitnet`, or the exact int8 × packed-ternary product rescaled by both scales for a
 * packed weight (the same value up to f32 rounding).
 * @param x - `[tokens, in]`
 * @param w - `[out, in]`
 * @param bitnet - quantise a float weight and the activations as BitNet b1.58 training does (a packed weight always is)
 * @returns `[tokens, out]`
 */
export function product(x: Tensor, w: LinearWeight, bitnet: boolean): Tensor {
  if (w instanceof PackedBitLinear) return w.forward(x);
  const xq = bitnet ? activationQuant(x).y : x;
  const wq = bitnet ? weightQuant(w).y : w;
  return tf.matMul(xq, wq, false, true);
}

/**
 * The products of one input with several weights, each as {@link product}; when every weight is
 * packed (with a plain input quantisation) they share one int8 quantisation of x, one kernel
 * instead of one per weight (the same values: the quantisation is a function of x alone).
 * @param x - `[tokens, in]`
 * @param ws - weights `[out_i, in]`
 * @param groupScale - {@link groupScales} of ws (packed): the products share one rescale too
 * @returns `[tokens, out_i]` per weight
 */
export function products(x: Tensor, ws: LinearWeight[], bitnet: boolean, groupScale?: Tensor): Tensor[] {
  const packed = ws.filter((w): w is PackedBitLinear => w instanceof PackedBitLinear && w.plainQuantization);
  if (ws.length < 2 || packed.length !== ws.length) return ws.map((w) => product(x, w, bitnet));
  const { q, scale } = packed[0].quantize(x);
  if (!groupScale) return packed.map((w) => w.forwardQuantized(q, scale));
  // one rescale for the group: the int32 products side by side, divided by weight scale × token scale
  // per column (the same f32 products and quotients as each layer's own rescale)
  const acc = tf.cast(tf.concat(packed.map((w) => ternaryMatmul(q, w.packedWeight, w.outFeatures)), -1), 'float32');
  return tf.split(tf.div(acc, tf.mul(groupScale, scale)), packed.map((w) => w.outFeatures), -1);
}

/**
 * The per-column weight scales of packed weights that share an input, for {@link products}'s one
 * rescale: `[Σ out_i]` holding each weight's scale over its columns; undefined unless every weight
 * is packed with a plain quantisation, the `'bitlinear'` scale format and no bias.
 * @param ws - the group's weights, in product order
 * @returns a new float32 tensor (the caller keeps and disposes it)
 */
export function groupScales(ws: LinearWeight[]): Tensor | undefined {
  const ok = ws.length > 1 && ws.every((w) => w instanceof PackedBitLinear && w.plainQuantization && w.scaleFormat === 'bitlinear' && !w.bias);
  if (!ok) return undefined;
  const packed = ws as PackedBitLinear[];
  const v = new Float32Array(packed.reduce((n, w) => n + w.outFeatures, 0));
  let at = 0;
  for (const w of packed) {
    v.fill(w.weightScale, at, at + w.outFeatures);
    at += w.outFeatures;
  }
  return tf.tensor1d(v, 'float32');
}

/**
 * The BitNet b1.58 product `quant8(x) @ ternary(w)ᵀ` (straight-through in the backward for a float weight).
 * @param x - `[tokens, in]`
 * @param w - `[out, in]`
 * @returns `[tokens, out]`
 */
export function bitnetMatMul(x: Tensor, w: LinearWeight): Tensor {
  return tf.tidy(() => product(x, w, true));
}

/**
 * {@link linear} of one input with several weights (a packed set shares the input quantisation, see {@link products}).
 * @param x - `[..., in]`
 * @param ws - `[out_i, in]` each
 * @param biases - `[out_i]` each (or undefined)
 * @param groupScale - from {@link groupScales} of ws: one rescale for the packed group
 * @returns `[..., out_i]` per weight
 */
export function linears(x: Tensor, ws: LinearWeight[], biases: (Tensor | undefined)[], bitnet = false, groupScale?: Tensor): Tensor[] {
  return tf.tidy(() => {
    const inF = weightShape(ws[0])[1];
    const flat = x.rank === 2;
    const ys = products(flat ? x : tf.reshape(x, [-1, inF]), ws, bitnet, groupScale);
    return ys.map((y, i) => {
      const b = biases[i];
      const yb = b ? tf.add(y, b) : y;
      return flat ? yb : tf.reshape(yb, [...x.shape.slice(0, -1), weightShape(ws[i])[0]]);
    });
  });
}

/**
 * `y = x @ wᵀ (+ bias)` over the last dimension.
 * @param x - `[..., in]`
 * @param w - `[out, in]` (float, or packed ternary)
 * @param bias - `[out]`
 * @param bitnet - quantise activations and a float weight as BitNet b1.58 training does
 * @returns `[..., out]`
 */
export function linear(x: Tensor, w: LinearWeight, bias?: Tensor, bitnet = false): Tensor {
  return tf.tidy(() => {
    const [outF, inF] = weightShape(w);
    // a [tokens, in] input needs no reshape (each is a kernel: the decode step stays 2-D)
    const flat = x.rank === 2;
    let y = product(flat ? x : tf.reshape(x, [-1, inF]), w, bitnet);
    if (bias) y = tf.add(y, bias);
    return flat ? y : tf.reshape(y, [...x.shape.slice(0, -1), outF]);
  });
}
