/**
 * `linearCrossEntropy`: the mean cross-entropy of `logits = (x · Wᵀ)·scale` against integer labels,
 * computed over chunks of rows so that the full float32 `[rows, vocab]` logits never exist. The
 * forward keeps only each row's log-sum-exp; the backward (a `tf.customGrad`) recomputes each
 * chunk's logits and turns them into that chunk's `dx` rows and its share of `dW` at once. Peak
 * memory is O(chunk × vocab) instead of O(rows × vocab) for the logits, their softmax and their
 * gradient. Written with tfjs ops, so it runs (and differentiates) on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { opCheck } from './op/check.js';

/** Options of {@link linearCrossEntropy}. */
export interface LinearCrossEntropyOptions {
  /** Multiplier of the logits (e.g. `lm_head_multiplier`); default 1. */
  scale?: number;
  /** Rows whose logits are computed at once; default {@link defaultCrossEntropyChunk}(vocab). */
  chunkSize?: number;
  /** The label left out of the mean (default −100, as in transformers). */
  ignoreIndex?: number;
}

/** Elements of one chunk's logits by default: 2²⁴ float32 values (64 MiB). */
const CHUNK_ELEMENTS = 1 << 24;

/**
 * The default rows per chunk for a vocabulary: as many as keep one chunk's logits at 2²⁴ floats
 * (64 MiB), at least 1. For a 32,784-token vocabulary that is 511 rows.
 * @param vocab - the vocabulary size (rows of the weight)
 */
export function defaultCrossEntropyChunk(vocab: number): number {
  return Math.max(1, Math.floor(CHUNK_ELEMENTS / Math.max(vocab, 1)));
}

/** Each chunk as [start row, rows]. */
function chunks(rows: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < rows; s += size) out.push([s, Math.min(size, rows - s)]);
  return out;
}

/** One chunk's logits `(x[s:s+c] · Wᵀ)·scale`: `[c, vocab]`. */
function chunkLogits(x: tf.Tensor, weight: tf.Tensor, start: number, rows: number, scale: number): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.matMul(tf.slice(x, [start, 0], [rows, x.shape[1]!]), weight, false, true), scale));
}

/** 1 where the label is kept, 0 where it is `ignoreIndex` (float32), and the labels with ignored ones set to 0. */
function validLabels(labels: tf.Tensor, ignoreIndex: number): { valid: tf.Tensor; safe: tf.Tensor } {
  const valid = tf.cast(tf.notEqual(labels, ignoreIndex), 'float32');
  return { valid, safe: tf.mul(tf.cast(valid, 'int32'), labels) };
}

/**
 * Mean cross-entropy of the linear layer's logits against `labels`, over the rows whose label is
 * not `ignoreIndex` (0 when there is none): `mean_i [logsumexp_v(z_iv) − z_i,label_i]` with
 * `z = (x · Wᵀ)·scale` — `torch.nn.functional.cross_entropy(x @ W.T * scale, labels)`, except that
 * an all-ignored batch gives 0 rather than NaN. Differentiable with respect to `x` and `weight`; the
 * gradient recomputes the logits chunk by chunk (one extra `x · Wᵀ` product) instead of keeping them.
 * No value is read back to the host.
 *
 * @example
 * ```ts
 * // hidden [tokens, d], lm_head.weight [vocab, d], next-token labels [tokens]
 * const loss = linearCrossEntropy(hidden, lmHead, labels, { scale: cfg.lm_head_multiplier });
 * ```
 * @param x - `[rows, d]`, float32
 * @param weight - `[vocab, d]`, float32
 * @param labels - int32 `[rows]`, each in `[0, vocab)` or `ignoreIndex` (not checked against vocab:
 *   that would need a read of the labels; the cpu backend's gather rejects such a label)
 * @returns the scalar mean loss
 * @throws OpArgumentError naming the argument when a shape, dtype or option is wrong, before any kernel runs
 */
export function linearCrossEntropy(x: tf.Tensor, weight: tf.Tensor, labels: tf.Tensor, options: LinearCrossEntropyOptions = {}): tf.Scalar {
  const c = opCheck('linearCrossEntropy');
  const [rows, d] = c.arg('x').tensor(x, { dims: ['rows', 'd'] });
  const [vocab] = c.arg('weight').tensor(weight, { dims: ['vocab', 'd'], shape: [undefined, d] });
  c.require(vocab >= 1, () => `weight must have at least one row (vocab ≥ 1), got shape ${c.shape(weight.shape)}`);
  c.arg('labels').tensor(labels, { dims: ['rows'], shape: [rows], dtype: 'int32' });
  const scale = c.option('scale').number(options.scale ?? 1, { finite: true });
  const chunk = c.option('chunkSize').positiveInt(options.chunkSize ?? defaultCrossEntropyChunk(vocab));
  const ignoreIndex = c.option('ignoreIndex').int(options.ignoreIndex ?? -100);
  const parts = chunks(rows, chunk);

  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, ws, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    let total: tf.Tensor = tf.scalar(0);
    const lses: tf.Tensor[] = [];
    for (const [s, n] of parts) {
      const [lse, sum] = tf.tidy(() => {
        const { valid, safe } = validLabels(tf.slice(labels, [s], [n]), ignoreIndex);
        const flat = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(vocab, 'int32')), safe);
        const [lse, picked] = tf.tidy(() => {
          const logits = chunkLogits(xs, ws, s, n, scale);
          // the log-sum-exp and logits[i, label_i] (from the flattened chunk)
          return [tf.logSumExp(logits, 1), tf.gather(tf.reshape(logits, [n * vocab]), flat)];
        });
        return [lse, tf.sum(tf.mul(tf.sub(lse, picked), valid))];
      });
      lses.push(lse);
      const next = tf.add(total, sum);
      tf.dispose([total, sum]);
      total = next;
    }
    const lse = lses.length ? tf.concat(lses, 0) : tf.zeros([0]);
    tf.dispose(lses);
    // (no rows: no sum over the empty labels, which tfjs's webgpu Sum cannot allocate)
    const count = rows > 0 ? tf.maximum(tf.sum(validLabels(labels, ignoreIndex).valid), 1) : tf.scalar(1);
    save([xs, ws, labels, lse]);
    return {
      value: tf.div(total, count) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => linearCrossEntropyGrad(dy, saved, parts, scale, ignoreIndex),
    };
  });
  return f(x, weight) as tf.Scalar;
}

/**
 * The backward: for each chunk, `dz = (softmax(z) − onehot(label))·valid·dy·scale/count` from the
 * recomputed logits and the saved log-sum-exp, then `dx[chunk] = dz · W` and `dW += dzᵀ · x[chunk]`.
 */
function linearCrossEntropyGrad(dy: tf.Tensor, saved: tf.Tensor[], parts: [number, number][], scale: number, ignoreIndex: number): tf.Tensor[] {
  const [xs, ws, labels, lse] = saved;
  const vocab = ws.shape[0];
  const g = parts.length ? tf.tidy(() => tf.div(tf.mul(dy, scale), tf.maximum(tf.sum(validLabels(labels, ignoreIndex).valid), 1))) : tf.scalar(0);
  let dw: tf.Tensor | undefined;
  const dxs: tf.Tensor[] = [];
  for (const [s, n] of parts) {
    const [dxc, dwNext] = tf.tidy(() => {
      const { valid, safe } = validLabels(tf.slice(labels, [s], [n]), ignoreIndex);
      // nested scopes free each [chunk, vocab] intermediate as soon as the next one exists
      const p = tf.tidy(() => tf.exp(tf.sub(chunkLogits(xs, ws, s, n, scale), tf.expandDims(tf.slice(lse, [s], [n]), 1))));
      const dz = tf.tidy(() => tf.mul(tf.sub(p, tf.cast(tf.oneHot(safe, vocab), 'float32')), tf.expandDims(tf.mul(valid, g), 1)));
      p.dispose();
      const xc = tf.slice(xs, [s, 0], [n, xs.shape[1]!]);
      const part = tf.matMul(dz, xc, true, false);
      return [tf.matMul(dz, ws), dw ? tf.add(dw, part) : part];
    });
    dw?.dispose();
    dw = dwNext;
    dxs.push(dxc);
  }
  g.dispose();
  const dx = dxs.length ? tf.concat(dxs, 0) : tf.zeros(xs.shape);
  tf.dispose(dxs); // concat copies (a clone for one chunk)
  return [dx, dw ?? tf.zeros(ws.shape)];
}
