/** Choosing the next token from logits: greedy, or sampling with temperature, top-k and top-p (seeded). */
import type { Rng } from '@falcon/tensor';

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
