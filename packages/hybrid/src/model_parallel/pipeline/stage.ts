/**
 * `FalconH1PipelineStage`: the part of a Falcon-H1 model one pipeline stage holds — its chunks'
 * decoder layers, the embeddings on the first stage, the final norm, the lm_head and the loss on
 * the last (with `tie_word_embeddings` the last stage holds a copy of the embeddings as its head,
 * kept equal to the first stage's by {@link pipelineValueAndGrads}) — and each chunk's forward.
 */
import { replicated } from '@falcon/parallel';
import type { ShardPlan } from '@falcon/parallel';
import { rmsNorm, tf } from '@falcon/tensor';
import type { Scalar, Tensor, Variable } from '@falcon/tensor';
import type { HybridConfig } from '../../config.js';
import { lmHeadCrossEntropy } from '../../loss.js';
import { embedTokens, topWeights } from '../../model.js';
import type { LayerInputs } from '../../parallel_hybrid_layer.js';
import { ParallelHybridLayer } from '../../parallel_hybrid_layer.js';
import { pipelineLayerRanges } from './partition.js';

const EMBED = 'model.embed_tokens.weight';
const NORM = 'model.final_layernorm.weight';
const HEAD = 'lm_head.weight';

/** What a stage needs of a decoder layer ({@link ParallelHybridLayer} has it; a tensor-parallel layer may too). */
export interface PipelineStageLayer {
  /** `[batch, seqlen, d]` → `[batch, seqlen, d]`. */
  forward(x: Tensor, inputs: LayerInputs): { y: Tensor };
  /** Trainable variables by internal name (relative to `model.layers.{i}.`). */
  variables(): Record<string, Variable>;
  /** Weights by Hugging Face name (relative to `model.layers.{i}.`). */
  transformersWeights(): Record<string, Tensor>;
  /** Full shapes by Hugging Face name (relative). */
  transformersShapes(): Record<string, number[]>;
  /** Load weights by Hugging Face name (relative). */
  loadTransformersWeights(w: Record<string, Tensor>): void;
  /** This rank's pieces by Hugging Face name (relative); absent: every weight whole (replicated). */
  shardPlan?(): ShardPlan;
  /** Free the variables. */
  dispose(): void;
}

/** Options of {@link FalconH1PipelineStage}. */
export interface PipelineStageOptions {
  /** Pipeline stages `s`. */
  stages: number;
  /** This stage, `0 ≤ stage < s`. */
  stage: number;
  /** Model chunks per stage `v` (interleaved schedule; default 1). */
  chunks?: number;
  /** Layers per virtual stage (`s·v` entries, uneven splits); default even (see {@link pipelineLayerRanges}). */
  layerCounts?: number[];
  /** Seed of the initialisation (that of {@link FalconH1ForCausalLM}: the same seed gives the same weights). */
  seed?: number;
  /** Makes decoder layer `index` (default `new ParallelHybridLayer(config, index, seed)`). */
  layer?: (index: number) => PipelineStageLayer;
  /** Makes the embeddings and the loss this stage runs (default {@link wholeStageEnds}: whole weights; e.g. vocab-parallel ones under TP). */
  ends?: (roles: StageRoles) => PipelineStageEnds;
}

/** Which ends of the model a stage holds. */
export interface StageRoles {
  /** Virtual stage 0 is here: the embeddings. */
  first: boolean;
  /** The last virtual stage is here: final norm, head, loss. */
  last: boolean;
}

/** The embeddings and the loss of a stage, with their weights. */
export interface PipelineStageEnds {
  /** The top weights this stage holds, by transformers name (`model.embed_tokens.weight` on the first stage and, tied, on the last). */
  weights: Record<string, Variable>;
  /** Ids int32 `[rows, seqlen]` → the residual stream `[rows, seqlen, d]` (× embedding_multiplier); first stage. */
  embed(ids: Tensor): Tensor;
  /** The last layer's output `[rows, seqlen, d]` → the mean causal LM loss (final norm, head, cross-entropy); last stage. */
  loss(hidden: Tensor, labels: Tensor, lossChunkSize?: number): Scalar;
  /** This rank's pieces of `weights` by transformers name (absent: whole). */
  shardPlan?(): ShardPlan;
}

/**
 * The default ends: whole weights made by {@link topWeights} (the one-rank model's for the same
 * seed), {@link embedTokens}, and the final RMSNorm with the chunked {@link lmHeadCrossEntropy}
 * (never the full logits); with tied embeddings the last stage's head is its copy of the embeddings.
 */
export function wholeStageEnds(config: HybridConfig, seed: number, roles: StageRoles): PipelineStageEnds {
  const top = topWeights(config, seed);
  const keep = new Set<string>();
  if (roles.first) keep.add(EMBED);
  if (roles.last) {
    keep.add(NORM);
    keep.add(config.base.tie_word_embeddings ? EMBED : HEAD);
  }
  const weights: Record<string, Variable> = {};
  for (const [k, v] of Object.entries(top)) {
    if (keep.has(k)) weights[k] = v;
    else v.dispose();
  }
  const base = config.base;
  return {
    weights,
    embed: (ids) => embedTokens(ids, weights[EMBED], config),
    loss: (hidden, labels, lossChunkSize) =>
      lmHeadCrossEntropy(rmsNorm(hidden, weights[NORM], base.rms_norm_eps), weights[HEAD] ?? weights[EMBED], labels, { multiplier: base.lm_head_multiplier, chunkSize: lossChunkSize }),
  };
}

/** Per-microbatch inputs of a chunk's forward. */
export interface StageInputs {
  /** RoPE positions, int32 `[rows, seqlen]`. */
  positions: Tensor;
  /** `[rows, seqlen]` 1 keep / 0 padding. */
  mask?: Tensor;
  /** Layer options (recomputation policy). */
  recompute?: LayerInputs['recompute'];
  /** Labels, int32 `[rows, seqlen]` (the last virtual stage's loss). */
  labels?: Tensor;
  /** Tokens per chunk of the chunked loss. */
  lossChunkSize?: number;
}

/** One pipeline stage of a Falcon-H1 model. */
export class FalconH1PipelineStage {
  /** Pipeline stages. */
  readonly stages: number;
  /** This stage. */
  readonly stage: number;
  /** Chunks per stage. */
  readonly chunks: number;
  /** `[first, end)` layers of each of this stage's chunks (chunk c is virtual stage `c·s + stage`). */
  readonly chunkLayers: Array<[number, number]>;
  /** The decoder layers this stage holds, by global index. */
  readonly layers = new Map<number, PipelineStageLayer>();
  /** Embeddings (first stage; also the last with tied embeddings), final norm and lm_head (last stage), by transformers name. */
  readonly top: Record<string, Variable> = {};
  /** The embeddings and the loss this stage runs. */
  readonly ends: PipelineStageEnds;

  /**
   * @param config - the model config
   * @param options - the pipeline, this stage, the layer split, the seed and the layer factory
   * @throws naming the problem when the stage or the split does not fit the model
   */
  constructor(
    readonly config: HybridConfig,
    options: PipelineStageOptions,
  ) {
    const { stages, stage } = options;
    const chunks = options.chunks ?? 1;
    if (!Number.isInteger(stages) || stages < 1) throw new RangeError(`pipeline: stages must be a positive integer, got ${stages}`);
    if (!Number.isInteger(chunks) || chunks < 1) throw new RangeError(`pipeline: chunks must be a positive integer, got ${chunks}`);
    if (!Number.isInteger(stage) || stage < 0 || stage >= stages) throw new RangeError(`pipeline: stage ${stage} is not in [0, ${stages})`);
    this.stages = stages;
    this.stage = stage;
    this.chunks = chunks;
    const ranges = pipelineLayerRanges(config.base.num_hidden_layers, stages * chunks, options.layerCounts);
    this.chunkLayers = Array.from({ length: chunks }, (_, c) => ranges[c * stages + stage]);
    const seed = options.seed ?? 0;
    const make = options.layer ?? ((i: number) => new ParallelHybridLayer(config, i, seed));
    for (const [a, b] of this.chunkLayers) for (let i = a; i < b; i++) this.layers.set(i, make(i));
    this.ends = (options.ends ?? ((roles: StageRoles) => wholeStageEnds(config, seed, roles)))({ first: this.isFirst, last: this.isLast });
    Object.assign(this.top, this.ends.weights);
  }

  /** Whether this stage runs virtual stage 0 (the embeddings). */
  get isFirst(): boolean {
    return this.stage === 0;
  }

  /** Whether this stage runs the last virtual stage (final norm, head, loss). */
  get isLast(): boolean {
    return this.stage === this.stages - 1;
  }

  /** Whether this stage's embeddings are a tied copy that must track the first stage's (tied, last stage of several). */
  get holdsTiedCopy(): boolean {
    return this.config.base.tie_word_embeddings && this.isLast && !this.isFirst;
  }

  /** The stage's trainable variables by internal name (those of {@link FalconH1ForCausalLM.variables} it holds). */
  variables(): Record<string, Variable> {
    const out: Record<string, Variable> = { ...this.top };
    for (const [i, l] of this.layers) for (const [k, v] of Object.entries(l.variables())) out[`model.layers.${i}.${k}`] = v;
    return out;
  }

  /** The stage's weights by transformers name (a {@link FalconH1ForCausalLM.stateDict} subset). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = { ...this.top };
    for (const [i, l] of this.layers) for (const [k, v] of Object.entries(l.transformersWeights())) out[`model.layers.${i}.${k}`] = v;
    return out;
  }

  /**
   * What this stage holds, by Hugging Face name: its layers' weights (as the layers shard them, else
   * whole) and the top weights it holds, whole (the tied copy of the embeddings included).
   */
  shardPlan(): ShardPlan {
    const out: ShardPlan = this.ends.shardPlan?.() ?? {};
    for (const [k, v] of Object.entries(this.top)) out[k] ??= replicated([...v.shape]);
    for (const [i, l] of this.layers) {
      const plan = l.shardPlan?.() ?? Object.fromEntries(Object.entries(l.transformersShapes()).map(([k, s]) => [k, replicated(s)]));
      for (const [k, spec] of Object.entries(plan)) out[`model.layers.${i}.${k}`] = spec;
    }
    return out;
  }

  /**
   * Load this stage's weights from a full model's (by transformers name; other stages' names are
   * ignored, this stage's must all be there).
   * @throws naming the missing weights
   */
  loadStateDict(weights: Record<string, Tensor>): void {
    const missing = Object.keys(this.top).filter((k) => !weights[k]);
    if (missing.length) throw new Error(`pipeline stage ${this.stage}: missing ${missing.map((k) => `'${k}'`).join(', ')}`);
    for (const [i, l] of this.layers) {
      const prefix = `model.layers.${i}.`;
      const mine: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(weights)) if (k.startsWith(prefix)) mine[k.slice(prefix.length)] = t;
      l.loadTransformersWeights(mine);
    }
    for (const [k, v] of Object.entries(this.top)) {
      if (!tf.util.arraysEqual(weights[k].shape, v.shape)) throw new Error(`pipeline stage ${this.stage}: '${k}' has shape [${weights[k].shape}], expected [${v.shape}]`);
      v.assign(weights[k]);
    }
  }

  /**
   * Chunk `chunk`'s forward on one microbatch: the embeddings first on virtual stage 0, the chunk's
   * layers, then on the last virtual stage the final norm and the mean causal LM loss (chunked from
   * the hidden states, never the full logits).
   * @param x - int32 ids `[rows, seqlen]` on virtual stage 0, else the residual stream `[rows, seqlen, d]`
   * @returns the residual stream `[rows, seqlen, d]`, or the loss (a scalar) on the last virtual stage
   */
  forwardChunk(chunk: number, x: Tensor, inputs: StageInputs): Tensor {
    if (!Number.isInteger(chunk) || chunk < 0 || chunk >= this.chunks) throw new RangeError(`pipeline stage ${this.stage}: chunk ${chunk} is not in [0, ${this.chunks})`);
    const vs = chunk * this.stages + this.stage;
    const last = vs === this.stages * this.chunks - 1;
    return tf.tidy(() => {
      let h = vs === 0 ? this.ends.embed(x) : x;
      const [a, b] = this.chunkLayers[chunk];
      for (let i = a; i < b; i++) h = this.layers.get(i)!.forward(h, { positions: inputs.positions, mask: inputs.mask, recompute: inputs.recompute }).y;
      if (!last) return h;
      if (!inputs.labels) throw new Error(`pipeline stage ${this.stage}: the last virtual stage needs the labels`);
      return this.ends.loss(h, inputs.labels, inputs.lossChunkSize);
    });
  }

  /** Free every weight of the stage. */
  dispose(): void {
    for (const v of Object.values(this.top)) v.dispose();
    for (const l of this.layers.values()) l.dispose();
  }
}
