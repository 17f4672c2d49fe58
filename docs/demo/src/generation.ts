// Falcon-H1 generation for the demo, shared by the page (checkpoint fetched over http) and the
// Node run the e2e test compares with (checkpoint read from disk): load config.json and
// model.safetensors, then greedy decoding with the hybrid cache.
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
 * Load the checkpoint and generate greedily on the active backend.
 * @param configText - config.json
 * @param weights - model.safetensors bytes
 */
export async function runGeneration(configText: string, weights: Uint8Array): Promise<GenerationResult> {
  const t0 = performance.now();
  const model = new FalconH1ForCausalLM(hybridConfig(configText));
  const file = parseSafetensors(weights);
  const tensors = await file.readTensors();
  model.loadStateDict(Object.fromEntries(tensors) as Record<string, Tensor>);
  tf.dispose([...tensors.values()]);
  const tok = new ByteTokenizer();
  const prompt = tok.encode(GENERATION.prompt);
  const ids = tf.tensor2d([prompt], [1, prompt.length], 'int32') as Tensor2D;
  const out = await model.generate(ids, { maxNewTokens: GENERATION.maxNewTokens, eosTokenId: null });
  const tokens = Array.from(await out.data());
  tf.dispose([ids, out]);
  model.dispose();
  return { backend: currentBackend(), tokens, text: tok.decode(tokens), ms: performance.now() - t0 };
}
