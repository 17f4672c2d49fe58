/**
 * Choosing the next token from logits: greedy, or sampling with temperature, top-k and top-p
 * (seeded), on the host ({@link nextToken}, one row of logits) or on the device ({@link sampleTokens},
 * every row at once, nothing read back but the chosen ids).
 */
import { tf } from '@falcon/tensor';
import type { Rng, Tensor1D, Tensor2D } from '@falcon/tensor';

/** Sampling options (transformers' names). */
export interface SamplingOptions {
  /** Sample instead of taking the argmax (default false). */
  doSample?: boolean;
  /** Divide the logits by this before sampling (default 1). */
  temperature?: number;
  /** Keep only the k most likely tokens (default 0: all). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (default 1: all). */
  topP?: number;
}

/**
 * Check sampling options before any work: temperature a positive finite number, topK a
 * non-negative integer (0: all tokens), topP in (0, 1].
 * @param o - the options
 * @param where - the entry point, for the message
 * @throws one line naming the option and the value
 */
export function checkSamplingOptions(o: SamplingOptions, where = 'sampling'): void {
  const { temperature: t, topK: k, topP: p } = o;
  if (t !== undefined && !(Number.isFinite(t) && t > 0)) throw new Error(`${where}: temperature must be a positive number, got ${t}`);
  if (k !== undefined && !(Number.isInteger(k) && k >= 0)) throw new Error(`${where}: topK must be a non-negative integer (0: all tokens), got ${k}`);
  if (p !== undefined && !(p > 0 && p <= 1)) throw new Error(`${where}: topP must be in (0, 1], got ${p}`);
}

/**
 * The next token for one row of logits: the argmax (the first on ties), or when sampling a draw
 * from softmax(logits / temperature) restricted to the topK most likely tokens and then to the
 * smallest prefix of them (by probability) whose mass reaches topP, by inverse CDF with one
 * `rng.uniform()`.
 * @param logits - `[V]` logits of one sequence
 * @param rng - the seeded generator (used only when sampling)
 */
export function nextToken(logits: Float32Array, o: SamplingOptions, rng: Rng): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  if (!o.doSample) return best;
  checkSamplingOptions(o);
  const t = o.temperature ?? 1;
  let idx = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
  if (o.topK && o.topK > 0) idx = idx.slice(0, o.topK);
  const max = logits[idx[0]];
  let probs = idx.map((i) => Math.exp((logits[i] - max) / t));
  let sum = probs.reduce((a, b) => a + b, 0);
  const topP = o.topP ?? 1;
  if (topP < 1) {
    let acc = 0;
    let keep = 0;
    while (keep < probs.length && acc < topP * sum) acc += probs[keep++];
    idx = idx.slice(0, Math.max(1, keep));
    probs = probs.slice(0, Math.max(1, keep));
    sum = probs.reduce((a, b) => a + b, 0);
  }
  let r = rng.uniform() * sum;
  for (let k = 0; k < idx.length; k++) {
    r -= probs[k];
    if (r <= 0) return idx[k];
  }
  return idx[idx.length - 1];
}

/**
 * Whether {@link sampleTokens} can run on the active backend with these options: greedy and plain
 * sampling use argMax/cumsum, which every backend has; top-k and top-p need the `TopK` kernel
 * (the cuda backend has none: there generation reads the logits and samples with {@link nextToken}).
 */
export function canSampleOnDevice(o: SamplingOptions): boolean {
  return !o.doSample || (!o.topK && (o.topP ?? 1) >= 1) || tf.getKernel('TopK', tf.getBackend()) !== undefined;
}

/**
 * The next token of every sequence, computed on the device: the argmax of each row when greedy;
 * when sampling, the same distribution as {@link nextToken} (softmax(logits / temperature) over
 * the topK most likely tokens, then the smallest most likely prefix whose mass reaches topP) drawn
 * by inverse CDF with one uniform per row. Only topK/topP sort (`tf.topk`); the `[batch, vocab]`
 * logits are never read to the host.
 * @param logits - float32 `[batch, vocab]`
 * @param o - the sampling options (checked first)
 * @param uniforms - float32 `[batch]` draws in [0, 1), one per row (required when sampling)
 * @returns int32 `[batch]` token ids
 */
export function sampleTokens(logits: Tensor2D, o: SamplingOptions, uniforms?: Tensor1D): Tensor1D {
  checkSamplingOptions(o, 'sampleTokens');
  if (logits.rank !== 2) throw new Error(`sampleTokens: logits must be [batch, vocab], got shape [${logits.shape}]`);
  const [batch, vocab] = logits.shape;
  if (!o.doSample) return tf.argMax(logits, 1) as Tensor1D; // int32 already (no Cast kernel)
  if (!uniforms || !tf.util.arraysEqual(uniforms.shape, [batch])) throw new Error(`sampleTokens: sampling needs one uniform draw per row, float32 [${batch}], got ${uniforms ? `[${uniforms.shape}]` : 'none'}`);
  const t = o.temperature ?? 1;
  const k = o.topK ? Math.min(o.topK, vocab) : 0;
  const p = o.topP ?? 1;
  return tf.tidy(() => {
    let z: Tensor2D = t === 1 ? logits : tf.div(logits, t);
    let order: Tensor2D | undefined; // the kept tokens' ids, most likely first
    if (k > 0 || p < 1) {
      const top = tf.topk(z, k > 0 ? k : vocab, true);
      z = top.values as Tensor2D;
      order = top.indices as Tensor2D;
    }
    const n = z.shape[1];
    let probs = tf.softmax(z); // normalised over the kept tokens, as nextToken's sum
    let kept: Tensor1D = tf.fill([batch], n, 'int32');
    if (p < 1) {
      // keep a token while the mass before it is below topP (the first one always)
      const keep = tf.less(tf.sub(tf.cumsum(probs, 1), probs), p);
      probs = tf.mul(probs, tf.cast(keep, 'float32'));
      kept = tf.sum(tf.cast(keep, 'int32'), 1);
    }
    const cdf = tf.cumsum(probs, 1);
    const total = tf.slice(cdf, [0, n - 1], [batch, 1]);
    const r = tf.mul(tf.reshape(uniforms, [batch, 1]), total);
    // the first kept token whose CDF exceeds the draw
    const below = tf.sum(tf.cast(tf.lessEqual(cdf, r), 'int32'), 1);
    const pick = tf.minimum(below, tf.sub(kept, tf.scalar(1, 'int32')));
    if (!order) return pick as Tensor1D;
    const flat = tf.add(tf.mul(tf.range(0, batch, 1, 'int32'), tf.scalar(n, 'int32')), pick);
    return tf.gather(tf.reshape(order, [batch * n]), flat) as Tensor1D;
  });
}
