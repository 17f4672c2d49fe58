/**
 * What generation and the Hugging Face loader/saver need of a causal LM (the interface
 * `FalconH1ForCausalLM` implements), so `generate.ts` and `pretrained.ts` take the model without
 * importing `model.ts`, which imports them.
 */
import type { Tensor, Tensor2D } from '@falcon/tensor';
import type { PackedBitLinear, RawTensorData } from '@falcon/bitnet';
import type { HybridConfig } from './config.js';
import type { LayerCache } from './parallel_hybrid_layer.js';

/** A causal LM as generation and the Hugging Face layout see it. */
export interface CausalLm {
  /** The model's configuration. */
  readonly config: HybridConfig;
  /** Every weight under its transformers name. */
  stateDict(): Record<string, Tensor>;
  /** The shape of every weight, by transformers name. */
  stateDictShapes(): Map<string, number[]>;
  /** Load weights by transformers name (all checked first). */
  loadStateDict(weights: Record<string, Tensor>): void;
  /** Every tensor to save (default: `stateDict()`); a packed model's packed weights as raw U8 data and `weight_scale`s. */
  checkpointTensors?(): Record<string, Tensor | RawTensorData>;
  /** Load a packed checkpoint: float weights and packed BitNet weights by transformers name (all checked first). */
  loadPackedStateDict?(weights: Record<string, Tensor>, packed: Record<string, PackedBitLinear>): void;
  /** Run the prompt `[batch, seqlen]` once: the last position's logits `[batch, vocab]` and the cache. */
  prefill(ids: Tensor2D, capacity: number, mask?: Tensor2D): { logits: Tensor2D; caches: LayerCache[] };
  /** One cached step: ids and positions `[batch, 1]`, logits `[batch, vocab]`. */
  step(ids: Tensor2D, positions: Tensor2D, caches: LayerCache[]): Tensor2D;
  /** Chunked prefill (optional): a chunk `[batch, chunk]` through the cache at `positions` `[batch, chunk]`, the last position's logits `[batch, vocab]`. */
  extend?(ids: Tensor2D, positions: Tensor2D, caches: LayerCache[], mask?: Tensor2D): Tensor2D;
}
