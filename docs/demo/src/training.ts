// Fine-tuning in the page, shared with the Node run the e2e test compares the losses with: the
// hybrid package's Trainer (AdamW, warm-up + cosine, global-norm clipping) one step at a time on
// seeded batches of the text's tokens; nothing is written (no run directory in a browser).
import { checkBatchSize, PRESETS, TokenBatches, Trainer } from '@falcon/hybrid';
import type { FalconH1ForCausalLM, StepMetrics, Tokenizer } from '@falcon/hybrid';

/** The Fine-tune tab's defaults (the e2e test trains `steps: 5`). */
export const FINETUNE = { steps: 30, batchSize: 4, seqlen: 32, lr: 3e-3, seed: 0 } as const;

/** The config.json of the preset the Fine-tune tab starts from. */
export const TINY = PRESETS.tiny;

/** How to fine-tune. */
export interface FineTuneOptions {
  /** Optimizer steps. */
  steps: number;
  /** Sequences per step. */
  batchSize: number;
  /** Tokens per sequence. */
  seqlen: number;
  /** Peak learning rate (no warm-up, cosine to lr/10 over the steps). */
  lr: number;
  /** Seed of the batches. */
  seed: number;
}

/**
 * The text's token ids, checked against the model.
 * @throws when the text is too short for one sequence or a token is beyond the vocabulary
 */
export function corpusTokens(text: string, tokenizer: Tokenizer, model: FalconH1ForCausalLM, o: FineTuneOptions): Int32Array {
  const b = model.config.base;
  if (!(Number.isInteger(o.seqlen) && o.seqlen > 1 && o.seqlen <= b.max_position_embeddings)) throw new Error(`sequence length must be an integer in [2, ${b.max_position_embeddings}], got ${o.seqlen}`);
  checkBatchSize(b, o.batchSize, o.seqlen, `batch ${o.batchSize} × ${o.seqlen}`);
  const ids = Int32Array.from(tokenizer.encode(text, { addSpecialTokens: false }));
  if (ids.length < o.seqlen + 1) throw new Error(`the text has ${ids.length} tokens, fewer than one sequence of ${o.seqlen + 1}: type or paste more`);
  const bad = ids.findIndex((t) => t < 0 || t >= b.vocab_size);
  if (bad >= 0) throw new Error(`token ${ids[bad]} (at ${bad}) is beyond the model's vocab_size ${b.vocab_size}`);
  return ids;
}

/**
 * Fine-tune `model` in place, one optimizer step per iteration; stopping early (`break`) keeps
 * the steps done and frees the optimizer's state.
 * @param model - the model to train (its variables are updated)
 * @param tokens - the training text's ids (see {@link corpusTokens})
 * @returns an async generator of each step's metrics (loss, lr, gradNorm, tokensPerSec)
 */
export async function* fineTune(model: FalconH1ForCausalLM, tokens: Int32Array, o: FineTuneOptions): AsyncGenerator<StepMetrics, void, undefined> {
  const data = new TokenBatches(tokens, o.batchSize, o.seqlen, o.seed);
  // the run directory is never used: only run() and save() write one, and neither is called
  const trainer = new Trainer(model, data, { steps: o.steps, lr: o.lr, warmupSteps: 0 }, '(in memory)');
  try {
    while (trainer.step < o.steps) yield await trainer.trainStep();
  } finally {
    trainer.dispose();
  }
}
