/**
 * Generation with the hybrid cache: the prompt is run once (prefill: attention's KV cache and
 * Mamba-2's conv and SSM states), then one cached step per new token; the prefix is never recomputed.
 * Prompts of different lengths are left-padded and masked.
 */
import { Rng, tf } from '@falcon/tensor';
import type { Tensor2D } from '@falcon/tensor';
import type { CausalLm } from './causal_lm.js';
import type { SamplingOptions } from './sampling.js';
import { checkSamplingOptions, nextToken } from './sampling.js';
import { checkInputIds, checkSequenceLength } from './checks.js';

/** Options of {@link generate}. */
export interface GenerateOptions extends SamplingOptions {
  /** Number of tokens to add. */
  maxNewTokens: number;
  /** Seed of sampling (default 0). */
  seed?: number;
  /** Stop a sequence at this token (default: the config's eos_token_id); later positions get the pad token. */
  eosTokenId?: number | null;
  /** `[batch, promptLen]` 1 for real tokens, 0 for left padding. */
  attentionMask?: Tensor2D;
  /** Called after each new token with the tokens so far (one row per sequence). */
  onToken?: (step: number, tokens: number[]) => void;
}

/**
 * Generate continuations of the prompts.
 * @param model - the model
 * @param promptIds - int32 `[batch, promptLen]` (left-padded when lengths differ, with attentionMask)
 * @returns int32 `[batch, promptLen + maxNewTokens]`: prompt then new tokens (pad after an EOS)
 */
export async function generate(model: CausalLm, promptIds: Tensor2D, o: GenerateOptions): Promise<Tensor2D> {
  const b = model.config.base;
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${o.maxNewTokens}`);
  if (promptIds.rank !== 2 || promptIds.dtype !== 'int32') throw new Error(`generate: prompt ids must be int32 [batch, seqlen], got ${promptIds.dtype} [${promptIds.shape}]`);
  const [batch, plen] = promptIds.shape;
  const mask = o.attentionMask;
  if (mask && !tf.util.arraysEqual(mask.shape, promptIds.shape)) throw new Error(`generate: attentionMask has shape [${mask.shape}], expected [${promptIds.shape}]`);
  checkSamplingOptions(o, 'generate');
  checkInputIds('generate', promptIds, b, mask);
  checkSequenceLength('generate: prompt + maxNewTokens', plen + o.maxNewTokens, b);
  const eosCfg = Array.isArray(b.eos_token_id) ? b.eos_token_id[0] : b.eos_token_id;
  const eos = o.eosTokenId === undefined ? eosCfg : o.eosTokenId;
  const pad = b.pad_token_id ?? eos ?? 0;
  const rng = new Rng(o.seed ?? 0);
  const out = Array.from(promptIds.arraySync() as number[][], (r) => [...r]);
  if (o.maxNewTokens === 0) return tf.tensor2d(out, [batch, plen], 'int32');
  const hasPad = mask ? tf.tidy(() => tf.min(mask).dataSync()[0] === 0) : false;
  const nextPos = hasPad ? (tf.tidy(() => tf.sum(mask!, 1).arraySync()) as number[]) : new Array(batch).fill(plen);
  const { logits: first, caches } = model.prefill(promptIds, plen + o.maxNewTokens, hasPad ? mask : undefined);
  let logits = first;
  const done = new Array(batch).fill(false);
  try {
    for (let s = 0; s < o.maxNewTokens; s++) {
      const rows = logits.dataSync() as Float32Array;
      logits.dispose();
      const next: number[] = [];
      for (let i = 0; i < batch; i++) {
        const tok = done[i] ? pad : nextToken(rows.subarray(i * b.vocab_size, (i + 1) * b.vocab_size), o, rng);
        if (eos !== null && eos !== undefined && tok === eos) done[i] = true;
        out[i].push(tok);
        next.push(tok);
      }
      o.onToken?.(s, next);
      if (s === o.maxNewTokens - 1 || done.every(Boolean)) break;
      const ids = tf.tensor2d(next, [batch, 1], 'int32');
      const pos = tf.tensor2d(nextPos.map((p) => p + s), [batch, 1], 'int32');
      logits = model.step(ids, pos, caches);
      tf.dispose([ids, pos]);
      await new Promise((r) => setTimeout(r, 0)); // let the event loop (and a page) breathe
    }
  } finally {
    for (const c of caches) {
      c.kv?.dispose();
      if (c.mamba) tf.dispose([c.mamba.convState, c.mamba.ssmState]);
    }
  }
  const len = Math.max(...out.map((r) => r.length));
  return tf.tensor2d(out.map((r) => [...r, ...new Array(len - r.length).fill(pad)]), [batch, len], 'int32');
}
