/**
 * Small composite functions shaped like the Falcon-H1 forward pass, its loss and its optimizer
 * step, written plainly with tfjs ops as the reference implementations are. They serve twice:
 * `tools/device/trace-kernels.ts` runs them on the cpu backend to list the tfjs kernels the model
 * needs (docs/cuda.md), and the CUDA self-test runs them forward and through `tf.grads` on both
 * backends and compares.
 */
import * as tf from '@tensorflow/tfjs-core';

/** How one input of a composite is drawn. */
export interface InputSpec {
  /** Shape of the input. */
  shape: number[];
  /** dtype (default float32). */
  dtype?: 'float32' | 'int32' | 'bool';
  /** For int32: values are drawn in [0, high). For float32: uniform in [-scale, scale] (default 1). */
  high?: number;
  /** For float32: half-width of the uniform range (default 1). */
  scale?: number;
  /** Whether gradients are taken with respect to this input (default: true for float32). */
  grad?: boolean;
}

/** A composite function of named inputs returning one tensor. */
export interface Composite {
  /** Short name shown in reports. */
  name: string;
  /** The inputs, in the order `fn` takes them. */
  inputs: Record<string, InputSpec>;
  /** The function: takes the inputs in declaration order. */
  fn: (...xs: tf.Tensor[]) => tf.Tensor;
}

const EPS = 1e-5;

/** RMSNorm over the last dim: `w * x / sqrt(mean(x²) + eps)`. */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  return tf.mul(w, tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), EPS))));
}

/** SiLU: `x * sigmoid(x)`. */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** `x @ wᵀ` for `x` [..., in] and a torch-layout weight `w` [out, in]. */
export function linear(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const lead = x.shape.slice(0, -1);
  const y = tf.matMul(tf.reshape(x, [-1, x.shape[x.rank - 1]]), w, false, true);
  return tf.reshape(y, [...lead, w.shape[0]]);
}

/** Rotary embedding with the half-split convention, `x` [b, H, l, hd]. */
export function rope(x: tf.Tensor, theta = 10000): tf.Tensor {
  const [, , l, hd] = x.shape;
  const half = hd / 2;
  const invFreq = tf.pow(theta, tf.div(tf.mul(tf.range(0, half, 1, 'float32'), -2), hd));
  const ang = tf.mul(tf.expandDims(tf.range(0, l, 1, 'float32'), 1), tf.expandDims(invFreq, 0)); // [l, half]
  const cos = tf.concat([tf.cos(ang), tf.cos(ang)], -1);
  const sin = tf.concat([tf.sin(ang), tf.sin(ang)], -1);
  const [x1, x2] = tf.split(x, 2, -1);
  const rot = tf.concat([tf.neg(x2), x1], -1);
  return tf.add(tf.mul(x, cos), tf.mul(rot, sin));
}

/** Causal GQA attention: `u` [b, l, d]; wq [H·hd, d], wk/wv [Hkv·hd, d], wo [d, H·hd]. */
export function attention(u: tf.Tensor, wq: tf.Tensor, wk: tf.Tensor, wv: tf.Tensor, wo: tf.Tensor, H: number, Hkv: number): tf.Tensor {
  const [b, l] = u.shape;
  const hd = wq.shape[0] / H;
  const heads = (t: tf.Tensor, n: number) => tf.transpose(tf.reshape(t, [b, l, n, hd]), [0, 2, 1, 3]);
  const q = rope(heads(linear(u, wq), H));
  let k = rope(heads(tf.mul(linear(u, wk), 0.9), Hkv));
  let v = heads(linear(u, wv), Hkv);
  // GQA: query head j reads KV head floor(j / (H / Hkv)).
  const kvHead = tf.tensor1d(Array.from({ length: H }, (_, j) => Math.floor(j / (H / Hkv))), 'int32');
  k = tf.gather(k, kvHead, 1);
  v = tf.gather(v, kvHead, 1);
  const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd));
  const pos = tf.range(0, l, 1, 'int32');
  const causal = tf.greaterEqual(tf.expandDims(pos, 1), tf.expandDims(pos, 0)); // [l, l]
  const masked = tf.where(causal, scores, tf.fill(scores.shape, -1e9));
  const p = tf.softmax(masked, -1);
  const o = tf.reshape(tf.transpose(tf.matMul(p, v), [0, 2, 1, 3]), [b, l, H * hd]);
  return linear(o, wo);
}

/** Depthwise causal conv1d over l with left padding k−1: `x` [b, l, c], `w` [c, k], `bias` [c]. */
export function causalConv1d(x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const [b, l, c] = x.shape;
  const k = w.shape[1] as number;
  const xp = tf.pad(x, [
    [0, 0],
    [k - 1, 0],
    [0, 0],
  ]);
  let y: tf.Tensor = tf.reshape(bias, [1, 1, c]);
  for (let j = 0; j < k; j++) {
    const wj = tf.reshape(tf.slice(w, [0, j], [c, 1]), [1, 1, c]);
    y = tf.add(y, tf.mul(tf.slice(xp, [0, j, 0], [b, l, c]), wj));
  }
  return y;
}

/**
 * The SSD recurrence, sequential reference form: x [b, l, h, p], dt [b, l, h], A_log [h],
 * B/C [b, l, g, n], D [h], dt_bias [h]. Returns y [b, l, h, p].
 */
export function ssdSequential(x: tf.Tensor, dt: tf.Tensor, aLog: tf.Tensor, B: tf.Tensor, C: tf.Tensor, D: tf.Tensor, dtBias: tf.Tensor): tf.Tensor {
  const [b, l, h, p] = x.shape;
  const g = B.shape[2] as number;
  const n = B.shape[3] as number;
  const A = tf.neg(tf.exp(aLog)); // [h]
  const delta = tf.clipByValue(tf.softplus(tf.add(dt, dtBias)), 0, 10); // [b, l, h]
  const group = tf.tensor1d(Array.from({ length: h }, (_, i) => Math.floor(i / (h / g))), 'int32');
  const Bh = tf.gather(B, group, 2); // [b, l, h, n]
  const Ch = tf.gather(C, group, 2);
  const xs = tf.unstack(x, 1);
  const ds = tf.unstack(delta, 1);
  const bs = tf.unstack(Bh, 1);
  const cs = tf.unstack(Ch, 1);
  let S: tf.Tensor = tf.zeros([b, h, p, n]);
  const ys: tf.Tensor[] = [];
  for (let t = 0; t < l; t++) {
    const dA = tf.exp(tf.mul(ds[t], A)); // [b, h]
    const dBx = tf.mul(tf.expandDims(tf.mul(xs[t], tf.expandDims(ds[t], 2)), 3), tf.expandDims(bs[t], 2)); // [b,h,p,n]
    S = tf.add(tf.mul(S, tf.reshape(dA, [b, h, 1, 1])), dBx);
    const y = tf.sum(tf.mul(S, tf.expandDims(cs[t], 2)), -1); // [b, h, p]
    ys.push(tf.add(y, tf.mul(xs[t], tf.reshape(D, [1, h, 1]))));
  }
  return tf.stack(ys, 1);
}

/** One chunk of the chunked SSD: the intra-chunk (diagonal) block with masked cumulative sums. */
export function ssdChunkDiag(x: tf.Tensor, a: tf.Tensor, B: tf.Tensor, C: tf.Tensor): tf.Tensor {
  // x [b, Q, p], a [b, Q] (Δ·A, negative), B/C [b, Q, n]
  const Q = a.shape[1] as number;
  const cum = tf.cumsum(a, 1); // [b, Q]
  const seg = tf.sub(tf.expandDims(cum, 2), tf.expandDims(cum, 1)); // [b, Q, Q]
  const idx = tf.range(0, Q, 1, 'int32');
  const lower = tf.lessEqual(tf.expandDims(idx, 0), tf.expandDims(idx, 1)); // s <= t
  const L = tf.where(tf.broadcastTo(lower, seg.shape), tf.exp(seg), tf.zerosLike(seg));
  const CB = tf.matMul(C, B, false, true); // [b, Q, Q]
  return tf.matMul(tf.mul(CB, L), x); // [b, Q, p]
}

/** Group-wise gated RMSNorm (norm after gate): `y` [b, l, d], `z` [b, l, d], `w` [d], `g` groups. */
export function gatedRmsNorm(y: tf.Tensor, z: tf.Tensor, w: tf.Tensor, g: number): tf.Tensor {
  const [b, l, d] = y.shape;
  const gated = tf.mul(y, silu(z));
  const grouped = tf.reshape(gated, [b, l, g, d / g]);
  const normed = tf.mul(grouped, tf.rsqrt(tf.add(tf.mean(tf.square(grouped), -1, true), EPS)));
  return tf.mul(tf.reshape(normed, [b, l, d]), w);
}

/** Mean next-token cross-entropy, labels equal to −100 ignored: logits [b, l, V], labels [b, l]. */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Tensor {
  const [b, l, V] = logits.shape;
  const lg = tf.reshape(tf.slice(logits, [0, 0, 0], [b, l - 1, V]), [-1, V]);
  const lb = tf.reshape(tf.slice(labels, [0, 1], [b, l - 1]), [-1]);
  const valid = tf.notEqual(lb, -100);
  const safe = tf.where(valid, lb, tf.zerosLike(lb));
  const logp = tf.logSoftmax(lg);
  const picked = tf.sum(tf.mul(logp, tf.oneHot(safe, V)), -1);
  const mask = tf.cast(valid, 'float32');
  return tf.div(tf.neg(tf.sum(tf.mul(picked, mask))), tf.maximum(tf.sum(mask), 1));
}

/** Cross-entropy through gather instead of one-hot: logits [N, V], labels [N]. */
export function crossEntropyGather(logits: tf.Tensor, labels: tf.Tensor): tf.Tensor {
  const [N, V] = logits.shape;
  const logp = tf.reshape(tf.logSoftmax(logits), [-1]);
  const flat = tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), labels);
  return tf.neg(tf.mean(tf.gather(logp, flat)));
}

/** BitNet b1.58 weight quantisation with a straight-through gradient. */
export const quantWeightSte: (w: tf.Tensor) => tf.Tensor = tf.customGrad(((w: tf.Tensor) => {
  const s = tf.div(1, tf.maximum(tf.mean(tf.abs(w)), 1e-5));
  const q = tf.div(tf.clipByValue(tf.round(tf.mul(w, s)), -1, 1), s);
  return { value: q, gradFunc: (dy: tf.Tensor) => dy };
}) as never) as unknown as (w: tf.Tensor) => tf.Tensor;

/** BitNet b1.58 per-token activation quantisation with a straight-through gradient. */
export const quantActSte: (x: tf.Tensor) => tf.Tensor = tf.customGrad(((x: tf.Tensor) => {
  const s = tf.div(127, tf.maximum(tf.max(tf.abs(x), -1, true), 1e-5));
  const q = tf.div(tf.clipByValue(tf.round(tf.mul(x, s)), -128, 127), s);
  return { value: q, gradFunc: (dy: tf.Tensor) => dy };
}) as never) as unknown as (x: tf.Tensor) => tf.Tensor;

/** The composites the self-test and the kernel trace run (small, odd sizes). */
export function composites(): Composite[] {
  const b = 2,
    l = 7,
    d = 12,
    H = 4,
    Hkv = 2,
    hd = 6,
    V = 19,
    f = 20;
  return [
    {
      name: 'embedding*mult',
      inputs: { E: { shape: [V, d] }, ids: { shape: [b, l], dtype: 'int32', high: V } },
      fn: (E, ids) => tf.sum(tf.square(tf.mul(tf.gather(E, ids), 1.7))),
    },
    {
      name: 'rmsnorm',
      inputs: { x: { shape: [b, l, d] }, w: { shape: [d] } },
      fn: (x, w) => tf.sum(tf.mul(rmsNorm(x, w), tf.sin(x))),
    },
    {
      name: 'swiglu-mlp',
      inputs: { x: { shape: [b, l, d] }, wg: { shape: [f, d] }, wu: { shape: [f, d] }, wd: { shape: [d, f] } },
      fn: (x, wg, wu, wd) => tf.sum(tf.square(linear(tf.mul(linear(x, wu), silu(tf.mul(linear(x, wg), 0.8))), wd))),
    },
    {
      name: 'gqa-attention',
      inputs: {
        u: { shape: [b, l, d] },
        wq: { shape: [H * hd, d] },
        wk: { shape: [Hkv * hd, d] },
        wv: { shape: [Hkv * hd, d] },
        wo: { shape: [d, H * hd] },
      },
      fn: (u, wq, wk, wv, wo) => tf.sum(tf.square(attention(u, wq, wk, wv, wo, H, Hkv))),
    },
    {
      name: 'conv1d+silu',
      inputs: { x: { shape: [b, l, 10] }, w: { shape: [10, 4] }, bias: { shape: [10] } },
      fn: (x, w, bias) => tf.sum(tf.square(silu(causalConv1d(x, w, bias)))),
    },
    {
      name: 'ssd-sequential',
      inputs: {
        x: { shape: [b, 5, 4, 3] },
        dt: { shape: [b, 5, 4] },
        aLog: { shape: [4], scale: 0.5 },
        B: { shape: [b, 5, 2, 3] },
        C: { shape: [b, 5, 2, 3] },
        D: { shape: [4] },
        dtBias: { shape: [4] },
      },
      fn: (x, dt, aLog, B, C, D, dtBias) => tf.sum(tf.square(ssdSequential(x, dt, aLog, B, C, D, dtBias))),
    },
    {
      name: 'ssd-chunk-diag',
      inputs: { x: { shape: [b, 9, 5] }, a: { shape: [b, 9], scale: 0.3 }, B: { shape: [b, 9, 4] }, C: { shape: [b, 9, 4] } },
      fn: (x, a, B, C) => tf.sum(tf.square(ssdChunkDiag(x, tf.neg(tf.abs(a)), B, C))),
    },
    {
      name: 'gated-rmsnorm',
      inputs: { y: { shape: [b, l, d] }, z: { shape: [b, l, d] }, w: { shape: [d] } },
      fn: (y, z, w) => tf.sum(tf.mul(gatedRmsNorm(y, z, w, 3), tf.cos(y))),
    },
    {
      name: 'cross-entropy',
      inputs: { logits: { shape: [b, l, V], scale: 3 }, labels: { shape: [b, l], dtype: 'int32', high: V } },
      fn: (logits, labels) => crossEntropy(logits, tf.where(tf.equal(labels, 3), tf.fill(labels.shape, -100, 'int32'), labels)),
    },
    {
      name: 'cross-entropy-gather',
      inputs: { logits: { shape: [11, V], scale: 3 }, labels: { shape: [11], dtype: 'int32', high: V } },
      fn: crossEntropyGather,
    },
    {
      name: 'bitlinear-ste',
      inputs: { x: { shape: [b, l, d] }, w: { shape: [f, d] } },
      fn: (x, w) => tf.sum(tf.square(linear(quantActSte(rmsNorm(x, tf.onesLike(x))), quantWeightSte(w)))),
    },
    {
      name: 'logsumexp+masks',
      inputs: { x: { shape: [3, 11], scale: 4 }, u: { shape: [3, 11], grad: false } },
      fn: (x, u) => {
        const y = tf.sub(x, tf.logSumExp(x, -1, true));
        const pos = tf.floorDiv(tf.mod(tf.range(0, 11, 1, 'int32'), tf.scalar(6, 'int32')), tf.scalar(2, 'int32'));
        const keep = tf.logicalAnd(tf.notEqual(pos, tf.scalar(1, 'int32')), tf.isFinite(tf.div(1, tf.round(u))));
        return tf.sum(tf.where(tf.broadcastTo(keep, y.shape), tf.square(y), tf.zerosLike(y)));
      },
    },
    {
      name: 'batched-matmul-tiled',
      inputs: { a: { shape: [3, 1, 5, 7] }, c: { shape: [1, 4, 9, 7] } },
      fn: (a, c) => tf.sum(tf.square(tf.matMul(tf.tile(a, [1, 4, 1, 1]), tf.tile(c, [3, 1, 1, 1]), false, true))),
    },
  ];
}
