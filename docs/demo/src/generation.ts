// Falcon-H1 generation for the demo, shared by the page (checkpoint fetched over http) and the
// Node run the e2e test compares with (checkpoint read from disk): build the model of config.json
// and model.safetensors ({@link loadModel}, also the Generate tab's), then greedy decoding with the
// hybrid cache (the backend check).
import { parseSafetensors } from '@falcon/checkpoint';
import { ByteTokenizer, FalconH1ForCausalLM, hybridConfig } from '@falcon/hybrid';
import { currentBackend, tf } from '@falcon/tensor';
import type { Tensor, Tensor2D } from '@falcon/tensor';

/** The prompt and length of the demo's generation. */
export const GENERATION = { prompt: 'In the morning, the baker', maxNewTokens: 32 } as const;

/** What the generation produced. */
export interface GenerationResult {
  /** Backend that ran it. */
  backend: string;
  /** Prompt and new token ids. */
  tokens: number[];
  /** The decoded text. */
  text: string;
  /** Milliseconds for loading and generating. */
  ms: number;
}

/**
 * Build the model of a checkpoint on the active backend (every weight name and shape checked).
 * @param configText - config.json
 * @param weights - model.safetensors bytes
 */
export async function loadModel(configText: string, weights: Uint8Array): Promise<FalconH1ForCausalLM> {
  const model = new FalconH1ForCausalLM(hybridConfig(configText));
  const tensors = await parseSafetensors(weights).readTensors();
  try {
    // a tied checkpoint may carry lm_head.weight as well (transformers writes it): the embedding is the weight
    const keep = [...tensors].filter(([k]) => !(model.config.base.tie_word_embeddings && k === 'lm_head.weight'));
    model.loadStateDict(Object.fromEntries(keep) as Record<string, Tensor>);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    tf.dispose([...tensors.values()]);
  }
  return model;
}

/**
 * Load the checkpoint and generate greedily on the active backend (byte tokens).
 * @param configText - config.json
 * @param weights - model.safetensors bytes
 * @param prompt - the prompt (default {@link GENERATION}'s)
 * @param maxNewTokens - tokens to add (default {@link GENERATION}'s)
 */
export async function runGeneration(configText: string, weights: Uint8Array, prompt: string = GENERATION.prompt, maxNewTokens: number = GENERATION.maxNewTokens): Promise<GenerationResult> {
  const t0 = performance.now();
  const model = await loadModel(configText, weights);
  const tok = new ByteTokenizer();
  const promptIds = tok.encode(prompt);
  const ids = tf.tensor2d([promptIds], [1, promptIds.length], 'int32') as Tensor2D;
  const out = await model.generate(ids, { maxNewTokens, eosTokenId: null });
  const tokens = Array.from(await out.data());
  tf.dispose([ids, out]);
  model.dispose();
  return { backend: currentBackend(), tokens, text: tok.decode(tokens), ms: performance.now() - t0 };
}
