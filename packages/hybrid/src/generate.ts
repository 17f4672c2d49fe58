/**
 * Generation with the hybrid cache: the prompt is run once (prefill: attention's KV cache and
 * Mamba-2's conv and SSM states), then one cached step per new token; the prefix is never recomputed.
 * Prompts of different lengths are left-padded and masked. Tokens are chosen on the device
 * ({@link sampleTokens}); the one read per step is the new token ids, started after the next step
 * was queued, so the device computes step s + 1 while the host waits for the ids of step s.
 */
import { Rng, tf } from '@falcon/tensor';
import type { Tensor1D, Tensor2D } from '@falcon/tensor';
import type { CausalLm } from './causal_lm.js';
import type { LayerCache } from './parallel_hybrid_layer.js';
import type { SamplingOptions } from './sampling.js';
import { canSampleOnDevice, checkSamplingOptions, nextToken, sampleTokens } from './sampling.js';
import { checkInputIds, checkSequenceLength, checkTokenIds } from './checks.js';

/** Options of {@link generate} and {@link generateStream}. */
export interface GenerateOptions extends SamplingOptions {
  /** Number of tokens to add. */
  maxNewTokens: number;
  /** Seed of sampling (default 0). */
  seed?: number;
  /** Stop a sequence at this token, or at any of these (default: the config's eos_token_id); later positions get the pad token. */
  eosTokenId?: number | number[] | null;
  /** `[batch, promptLen]` 1 for real tokens, 0 for left padding. */
  attentionMask?: Tensor2D;
  /**
   * Chunked prefill: feed the prompt through the hybrid cache this many tokens at a time (attention
   * with the KV cache, Mamba-2 from the carried conv/SSM states), so prefill activations stay
   * `[batch, prefillChunkSize, …]` however long the prompt; the results equal the one-shot prefill's
   * (default: the whole prompt at once).
   */
  prefillChunkSize?: number;
  /** {@link generate} only: called after each new token with the tokens of that step (one per sequence). */
  onToken?: (step: number, tokens: number[]) => void;
}

/** Check the arguments of a generation before any work. @returns batch and prompt length */
function checkGenerate(model: CausalLm, promptIds: Tensor2D, o: GenerateOptions): [number, number] {
  const b = model.config.base;
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${o.maxNewTokens}`);
  if (!(promptIds instanceof tf.Tensor) || promptIds.rank !== 2 || promptIds.dtype !== 'int32') throw new Error(`generate: prompt ids must be int32 [batch, seqlen], got ${promptIds?.dtype} [${promptIds?.shape}]`);
  const mask = o.attentionMask;
  if (mask && !tf.util.arraysEqual(mask.shape, promptIds.shape)) throw new Error(`generate: attentionMask has shape [${mask.shape}], expected [${promptIds.shape}]`);
  const chunk = o.prefillChunkSize;
  if (chunk !== undefined && (!Number.isInteger(chunk) || chunk < 1)) throw new Error(`generate: prefillChunkSize must be a positive integer, got ${chunk}`);
  if (chunk !== undefined && !model.extend) throw new Error('generate: this model does not support prefillChunkSize (it has no extend method)');
  checkSamplingOptions(o, 'generate');
  checkInputIds('generate', promptIds, b, mask);
  const [batch, plen] = promptIds.shape;
  checkSequenceLength('generate: prompt + maxNewTokens', plen + o.maxNewTokens, b);
  return [batch, plen];
}

/**
 * Prefill: the prompt through the hybrid cache, at once or in chunks of `chunkSize` tokens (the
 * first by `model.prefill`, the rest by `model.extend`; each chunk's work is freed before the next).
 * RoPE positions count real tokens (left padding at 0). What {@link generateStream} starts with.
 * @param model - the model
 * @param ids - int32 `[batch, promptLen]`
 * @param capacity - KV cache capacity (prompt + new tokens)
 * @param options - chunkSize (default the whole prompt); mask `[batch, promptLen]` 1 real / 0 left padding
 * @returns the last position's logits `[batch, vocab]` and the caches (the caller disposes them)
 */
export function prefillPrompt(model: CausalLm, ids: Tensor2D, capacity: number, options: { chunkSize?: number; mask?: Tensor2D } = {}): { logits: Tensor2D; caches: LayerCache[] } {
  const { mask } = options;
  const [batch, plen] = ids.shape;
  const size = options.chunkSize ?? plen;
  if (size >= plen) return model.prefill(ids, capacity, mask);
  if (!Number.isInteger(size) || size < 1) throw new Error(`prefill: chunkSize must be a positive integer, got ${size}`);
  if (!model.extend) throw new Error('prefill: this model does not support chunked prefill (it has no extend method)');
  const piece = <T extends Tensor2D | undefined>(t: T, start: number, n: number): T => (t ? tf.slice(t, [0, start], [batch, n]) : t) as T;
  const [ids0, mask0] = [piece(ids, 0, size), piece(mask, 0, size)];
  const prefilled = model.prefill(ids0, capacity, mask0);
  const caches = prefilled.caches;
  let logits = prefilled.logits;
  tf.dispose([ids0, mask0].filter((t) => t !== undefined));
  const positions = tf.tidy(() => {
    if (!mask) return tf.tile(tf.expandDims(tf.range(0, plen, 1, 'int32'), 0), [batch, 1]);
    return tf.maximum(tf.sub(tf.cumsum(tf.cast(mask, 'int32'), 1), tf.scalar(1, 'int32')), tf.scalar(0, 'int32'));
  }) as Tensor2D;
  try {
    for (let start = size; start < plen; start += size) {
      const n = Math.min(size, plen - start);
      const chunk = [piece(ids, start, n), piece(positions, start, n), piece(mask, start, n)] as const;
      try {
        const next = model.extend!(chunk[0], chunk[1], caches, chunk[2]);
        logits.dispose();
        logits = next;
      } finally {
        tf.dispose(chunk.filter((t) => t !== undefined));
      }
    }
  } catch (e) {
    logits.dispose();
    disposeCaches(caches);
    throw e;
  } finally {
    positions.dispose();
  }
  return { logits, caches };
}

function disposeCaches(caches: LayerCache[]): void {
  for (const c of caches) {
    c.kv?.dispose();
    if (c.mamba) tf.dispose([c.mamba.convState, c.mamba.ssmState]);
  }
}

/**
 * Generate continuations of the prompts, one step at a time: yields the new token of every
 * sequence after each step (the pad token for a sequence that has ended), until `maxNewTokens`
 * steps or every sequence has produced the EOS token. Stopping early (`break`, `return()`)
 * releases the cache. Greedy results equal {@link generate}'s, token for token.
 * @param model - the model
 * @param promptIds - int32 `[batch, promptLen]` (left-padded when lengths differ, with attentionMask)
 * @returns an async generator of `number[]` (length batch) per step
 * @example
 * ```ts
 * const decoder = new IncrementalDecoder(tokenizer);
 * for await (const [id] of generateStream(model, prompt, { maxNewTokens: 64 })) process.stdout.write(decoder.push(id));
 * ```
 */
export async function* generateStream(model: CausalLm, promptIds: Tensor2D, o: GenerateOptions): AsyncGenerator<number[], void, undefined> {
  const [batch, plen] = checkGenerate(model, promptIds, o);
  const b = model.config.base;
  if (tf.getBackend() !== 'cpu') checkTokenIds('generate', await promptIds.data(), b.vocab_size); // (cpu: checked above)
  if (o.maxNewTokens === 0) return;
  const eosGiven = o.eosTokenId === undefined ? b.eos_token_id : o.eosTokenId; // transformers stops at any of them
  const eos = new Set([eosGiven ?? []].flat());
  const pad = b.pad_token_id ?? [eosGiven ?? []].flat()[0] ?? 0;
  const rng = new Rng(o.seed ?? 0);
  const mask = o.attentionMask;
  const lengths = mask ? Array.from(await tf.tidy(() => tf.sum(tf.cast(mask, 'int32'), 1)).data()) : undefined;
  const hasPad = lengths?.some((n) => n < plen) ?? false;
  const onDevice = canSampleOnDevice(o);
  // the ids of the next tokens, on the device; where the backend cannot sort (top-k/top-p), from the logits read back
  const choose = async (logits: Tensor2D): Promise<Tensor1D> => {
    if (!onDevice) {
      const rows = (await logits.data()) as Float32Array;
      const v = b.vocab_size;
      return tf.tensor1d(Array.from({ length: batch }, (_, i) => nextToken(rows.subarray(i * v, (i + 1) * v), o, rng)), 'int32') as Tensor1D;
    }
    return tf.tidy(() => sampleTokens(logits, o, o.doSample ? tf.tensor1d(Array.from({ length: batch }, () => rng.uniform())) : undefined));
  };
  const capacity = plen + o.maxNewTokens;
  const { logits: first, caches } = prefillPrompt(model, promptIds, capacity, { chunkSize: o.prefillChunkSize, mask: hasPad ? mask : undefined });
  let tokens: Tensor1D | undefined;
  try {
    tokens = await choose(first);
  } catch (e) {
    disposeCaches(caches);
    throw e;
  } finally {
    first.dispose();
  }
  let pos: Tensor2D | undefined = tf.tensor2d(hasPad ? lengths! : new Array(batch).fill(plen), [batch, 1], 'int32');
  let ahead: Tensor1D | undefined;
  const done = new Array(batch).fill(false);
  try {
    for (let s = 0; s < o.maxNewTokens; s++) {
      // queue step s + 1 on this step's tokens (still on the device) before reading them; a
      // sequence that has ended is fed its own token, whose result is replaced by the pad
      if (s < o.maxNewTokens - 1) {
        const ids = tf.reshape(tokens!, [batch, 1]) as Tensor2D;
        const logits = model.step(ids, pos!, caches);
        try {
          ahead = await choose(logits);
        } finally {
          tf.dispose([ids, logits]);
        }
        const next = tf.tidy(() => tf.add(pos!, tf.scalar(1, 'int32'))) as Tensor2D;
        pos!.dispose();
        pos = next;
      }
      const values = await tokens!.data();
      tokens!.dispose();
      tokens = ahead;
      ahead = undefined;
      const row = Array.from(values, (t, i) => {
        if (done[i]) return pad;
        if (eos.has(t)) done[i] = true;
        return t;
      });
      yield row;
      if (done.every(Boolean)) break;
    }
  } finally {
    tf.dispose([tokens, ahead, pos].filter((t) => t !== undefined));
    disposeCaches(caches);
  }
}

/**
 * Generate continuations of the prompts (built on {@link generateStream}).
 * @param model - the model
 * @param promptIds - int32 `[batch, promptLen]` (left-padded when lengths differ, with attentionMask)
 * @returns int32 `[batch, promptLen + new tokens]`: prompt then new tokens (pad after an EOS)
 */
export async function generate(model: CausalLm, promptIds: Tensor2D, o: GenerateOptions): Promise<Tensor2D> {
  checkGenerate(model, promptIds, o);
  const rows = (await promptIds.array()) as number[][];
  let step = 0;
  for await (const tokens of generateStream(model, promptIds, o)) {
    tokens.forEach((t, i) => rows[i].push(t));
    o.onToken?.(step++, tokens);
  }
  return tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');
}
