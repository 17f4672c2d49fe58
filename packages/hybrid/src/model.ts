/**
 * `FalconH1ForCausalLM`: the Falcon-H1 hybrid language model (embeddings ×
 * `embedding_multiplier`, {@link ParallelHybridLayer}s, final RMSNorm, lm_head × `lm_head_multiplier`),
 * with transformers' parameter names, loss and gradients, hybrid-cache generation, and
 * `fromPretrained` / `savePretrained` in the Hugging Face layout.
 */
import { rmsNorm, tf, variableFrom } from '@falcon/tensor';
import type { Scalar, Tensor, Tensor2D, Tensor3D, Variable } from '@falcon/tensor';
import type { PackedBitLinear, RawTensorData } from '@falcon/bitnet';
import { init } from '@falcon/tensor';
import { checkInputIds, checkTokenIds } from './checks.js';
import type { CausalLm } from './causal_lm.js';
import type { HybridConfig } from './config.js';
import { causalLmLoss, lmHeadCrossEntropy } from './loss.js';
import type { LayerCache } from './parallel_hybrid_layer.js';
import { ParallelHybridLayer } from './parallel_hybrid_layer.js';
import type { RecomputePolicy } from './recompute.js';
import type { GenerateOptions } from './generate.js';
import { generate } from './generate.js';
import type { FromPretrainedOptions, SavePretrainedOptions } from './pretrained.js';
import { readPretrained, savePretrained } from './pretrained.js';
import { packedError } from './pack_ternary.js';

/** Options of {@link FalconH1ForCausalLM.forward}. */
export interface ForwardOptions {
  /** int32 `[batch, seqlen]`: compute the causal LM loss against these (shifted inside; −100 ignored). */
  labels?: Tensor2D;
  /** Return the hidden states (num_hidden_layers + 1 entries, the last after the final norm). */
  outputHiddenStates?: boolean;
  /** `[batch, seqlen]` 1 keep / 0 padding (left padding for batched prompts). */
  attentionMask?: Tensor2D;
  /** Recompute these sub-layers in the backward instead of storing their activations. */
  recompute?: RecomputePolicy;
  /**
   * Compute and return the logits (default true). With `false` and labels, the loss comes from the
   * hidden states by the chunked {@link lmHeadCrossEntropy} (same value and gradients) and the
   * `[batch, seqlen, vocab_size]` logits never exist; what training uses.
   */
  logits?: boolean;
  /** Tokens per chunk of the chunked loss (default: 2²⁴ / vocab_size). */
  lossChunkSize?: number;
}

/** What {@link FalconH1ForCausalLM.forward} returns. */
export interface ForwardOutput {
  /** `[batch, seqlen, vocab_size]`. */
  logits: Tensor3D;
  /** Mean causal LM loss, when labels were given. */
  loss?: Scalar;
  /** The hidden states, when asked: `[batch, seqlen, d]` each. */
  hiddenStates?: Tensor3D[];
}

/** Positions for RoPE: 0…l−1, or with a padding mask the count of real tokens before each one. */
export function positionIds(batch: number, seqlen: number, mask?: Tensor, offset = 0): Tensor2D {
  return tf.tidy(() => {
    if (!mask) return tf.tile(tf.expandDims(tf.range(offset, offset + seqlen, 1, 'int32'), 0), [batch, 1]) as Tensor2D;
    const c = tf.sub(tf.cumsum(tf.cast(mask, 'int32'), 1), tf.scalar(1, 'int32'));
    return tf.cast(tf.maximum(c, tf.scalar(0, 'int32')), 'int32') as Tensor2D;
  });
}

/**
 * The model's top-level weights, freshly initialised: `model.embed_tokens.weight` `[vocab, d]`
 * (normal), `model.final_layernorm.weight` `[d]` (ones) and, unless tied, `lm_head.weight`
 * `[vocab, d]` (normal). What {@link FalconH1ForCausalLM}'s constructor makes (pipeline stages make
 * the ones they hold with it).
 * @param seed - the model's seed
 */
export function topWeights(config: HybridConfig, seed = 0): Record<string, Variable> {
  const b = config.base;
  const top: Record<string, Variable> = {};
  top['model.embed_tokens.weight'] = variableFrom(init.normal([b.vocab_size, b.hidden_size], { std: b.initializer_range, seed: seed + 7 }));
  top['model.final_layernorm.weight'] = variableFrom(init.ones([b.hidden_size]));
  if (!b.tie_word_embeddings) {
    top['lm_head.weight'] = variableFrom(init.normal([b.vocab_size, b.hidden_size], { std: b.initializer_range, seed: seed + 8 }));
  }
  return top;
}

/**
 * Embeddings of `[batch, seqlen]` ids × `embedding_multiplier`, computed on the device without
 * reading the ids back: an id outside `[0, vocab_size)` gathers a clamped row (never memory past
 * the table) and its embedding is NaN. Nine kernels whatever the shape (the decode step's count).
 * @param ids - int32 `[batch, seqlen]`
 * @param table - `[vocab_size, d]`
 * @param options - `flat`: ids `[batch, 1]` give `[batch, d]` (one token per sequence, the decode step)
 * @returns `[batch, seqlen, d]` (`[batch, d]` with flat)
 */
export function embedTokens(ids: Tensor, table: Tensor, config: HybridConfig, options: { flat?: boolean } = {}): Tensor {
  const v = config.base.vocab_size;
  const i = ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32');
  const clamped = tf.minimum(tf.maximum(i, tf.scalar(0, 'int32')), tf.scalar(v - 1, 'int32'));
  const rows = tf.gather(table, clamped);
  // + 0 / 1 = 0 for valid ids (exact), + 0 / 0 = NaN for the others
  const inRange = tf.cast(tf.equal(clamped, i), 'float32');
  const poison = tf.div(tf.scalar(0), options.flat ? inRange : tf.expandDims(inRange, -1));
  const r = options.flat ? tf.reshape(rows, [ids.shape[0], table.shape[1]!]) : rows;
  const m = config.base.embedding_multiplier;
  return m === 1 ? tf.add(r, poison) : tf.mul(tf.add(r, poison), m);
}

/** The Falcon-H1 causal language model. */
export class FalconH1ForCausalLM implements CausalLm {
  /** The decoder layers. */
  readonly layers: ParallelHybridLayer[];
  /** Embeddings, final norm and (unless tied) lm_head, by transformers name. */
  readonly top: Record<string, Variable> = {};
  private packedFlag = false;

  /**
   * A model with freshly initialised weights (normal(0, initializer_range); norms 1; Mamba-2 as transformers).
   * @param config - see {@link hybridConfig}
   * @param seed - seed of the initialisation
   */
  constructor(
    readonly config: HybridConfig,
    seed = 0,
  ) {
    const b = config.base;
    Object.assign(this.top, topWeights(config, seed));
    this.layers = Array.from({ length: b.num_hidden_layers }, (_, i) => new ParallelHybridLayer(config, i, seed));
  }

  /** Whether {@link FalconH1ForCausalLM.packTernary} has converted the model for inference. */
  get isPacked(): boolean {
    return this.packedFlag;
  }

  /**
   * Convert a BitNet model for inference: every BitNet linear (per the config's `bitnet` module
   * types: attention q/k/v, Mamba-2 in_proj, the shared o_proj|out_proj projection, the MLP) gets
   * its weight `[out, in]` replaced by the packed 2-bit ternary form (`PackedBitLinear`: transformers'
   * packed layout, ~1/16 of the float32 bytes, and the weight scale of the whole matrix, as the
   * training form quantises it) and its float weight freed. Afterwards `forward`, `generate` and
   * the cached steps run those linears as int8 activations × packed weights (`ternaryMatmul`),
   * giving the training form's (fake-quantised) outputs up to f32 rounding of the scales.
   * Irreversible: training (`variables`, `valueAndGrads`, a `Trainer`), `stateDict` and
   * `loadStateDict` are refused afterwards; `savePretrained` writes the packed form (transformers'
   * packed BitLinear tensors), which `fromPretrained` reads back as a packed model.
   * Asynchronous: the weights are read back from the backend to be packed.
   * @returns this model
   * @throws if the config has no BitNet layer or the model is already packed
   * @example
   * const model = await FalconH1ForCausalLM.fromPretrained(dir); // a model with falcon_bitnet layers
   * await model.packTernary();
   * const out = await model.generate(prompt, { maxNewTokens: 32 });
   */
  async packTernary(): Promise<this> {
    if (!Object.values(this.config.bitnet).some(Boolean)) {
      throw new Error('packTernary: the model has no BitNet layers (config bitnet: attention, mamba, mlp and outProj are all false); only BitNet linears can be packed');
    }
    if (this.packedFlag) throw new Error('packTernary: the model is already packed');
    for (const layer of this.layers) await layer.packTernary();
    this.packedFlag = true;
    return this;
  }

  /** Every trainable variable, by internal name (transformers names, except each layer's `fused_out_proj.weight`). @throws for a packed model */
  variables(): Record<string, Variable> {
    if (this.packedFlag) throw packedError('variables (training)');
    const out: Record<string, Variable> = { ...this.top };
    this.layers.forEach((l, i) => {
      for (const [k, v] of Object.entries(l.variables())) out[`model.layers.${i}.${k}`] = v;
    });
    return out;
  }

  /** The weights under transformers' names (o_proj and out_proj split out of the fused projection). */
  stateDict(): Record<string, Tensor> {
    if (this.packedFlag) throw packedError('stateDict');
    const out: Record<string, Tensor> = { ...this.top };
    this.layers.forEach((l, i) => {
      for (const [k, v] of Object.entries(l.transformersWeights())) out[`model.layers.${i}.${k}`] = v;
    });
    return out;
  }

  /** Expected shape of every weight under transformers' names. */
  stateDictShapes(): Map<string, number[]> {
    const out = new Map<string, number[]>(Object.entries(this.top).map(([k, t]) => [k, [...t.shape]]));
    this.layers.forEach((l, i) => {
      for (const [k, s] of Object.entries(l.transformersShapes())) out.set(`model.layers.${i}.${k}`, s);
    });
    return out;
  }

  /**
   * Load weights keyed by transformers' names (every name and shape checked first).
   * @throws naming the missing, unexpected or misshapen weight
   */
  loadStateDict(weights: Record<string, Tensor>): void {
    this.loadPackedStateDict(weights, {});
  }

  /**
   * Load a packed checkpoint: the float weights, and the packed BitNet weights (exactly those the
   * config makes BitNet; o_proj and out_proj of a layer with one scale), all checked first. With any
   * packed weight the model is then packed, as after {@link FalconH1ForCausalLM.packTernary}.
   * @param weights - float weights by transformers name
   * @param packed - packed weights by transformers name (`…_proj.weight`); the model takes them over
   * @throws naming every missing, unexpected or misshapen weight
   */
  loadPackedStateDict(weights: Record<string, Tensor>, packed: Record<string, PackedBitLinear>): void {
    if (this.packedFlag) throw packedError('loadStateDict');
    const expected = this.stateDictShapes();
    const problems: string[] = [];
    for (const [k, shape] of expected) {
      const t = weights[k];
      if (!t && !packed[k]) problems.push(`missing '${k}' [${shape}]`);
      else if (t && packed[k]) problems.push(`'${k}' is given both as a float and as a packed weight`);
      else if (t && !tf.util.arraysEqual(t.shape, shape)) problems.push(`'${k}' has shape [${t.shape}], expected [${shape}]`);
    }
    for (const k of [...Object.keys(weights), ...Object.keys(packed)]) if (!expected.has(k)) problems.push(`unexpected '${k}'`);
    const byLayer = this.layers.map((_, i) => {
      const prefix = `model.layers.${i}.`;
      const pick = <T>(r: Record<string, T>) => Object.fromEntries(Object.entries(r).filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
      return { mine: pick(weights), minePacked: pick(packed) };
    });
    const anyPacked = Object.keys(packed).length > 0;
    byLayer.forEach(({ minePacked }, i) => problems.push(...this.layers[i].packedProblems(minePacked, anyPacked).map((p) => `layer ${i}: ${p}`)));
    if (problems.length) throw new Error(`the weights do not match the config: ${problems.join('; ')}`);
    for (const [k, v] of Object.entries(this.top)) v.assign(weights[k]);
    this.layers.forEach((l, i) => l.loadTransformersWeights(byLayer[i].mine, byLayer[i].minePacked));
    if (Object.keys(packed).length) this.packedFlag = true;
  }

  /**
   * Every tensor a checkpoint of this model holds, by transformers name: {@link FalconH1ForCausalLM.stateDict}
   * or, for a packed model, the float weights and each packed BitNet weight as transformers' packed
   * `BitLinear` tensors (`….weight` U8 `[ceil(out/4), in]`, `….weight_scale` F32 `[1]`).
   */
  checkpointTensors(): Record<string, Tensor | RawTensorData> {
    if (!this.packedFlag) return this.stateDict();
    const out: Record<string, Tensor | RawTensorData> = { ...this.top };
    this.layers.forEach((l, i) => {
      for (const [k, v] of Object.entries({ ...l.transformersWeights(), ...l.packedTransformersTensors() })) out[`model.layers.${i}.${k}`] = v;
    });
    return out;
  }

  /**
   * Embeddings of `[batch, seqlen]` ids, computed on the device without reading the ids back: an
   * id outside `[0, vocab_size)` gathers row 0 (never memory past the table) and its embedding is
   * NaN, so the logits of its sequence and the loss are NaN instead of plausible numbers
   * ({@link FalconH1ForCausalLM.checkInputIds} names the bad id, asynchronously).
   */
  private embed(ids: Tensor): Tensor {
    return embedTokens(ids, this.top['model.embed_tokens.weight'], this.config);
  }

  private head(h: Tensor): Tensor3D {
    const b = this.config.base;
    const w = this.top['lm_head.weight'] ?? this.top['model.embed_tokens.weight'];
    const [bs, l, d] = h.shape;
    return tf.mul(tf.reshape(tf.matMul(tf.reshape(h, [bs * l, d]), w, false, true), [bs, l, b.vocab_size]), b.lm_head_multiplier) as Tensor3D;
  }

  /** lm_head of `[tokens, d]`: `[tokens, vocab]` (no reshapes; a multiplier of exactly 1 skipped). */
  private flatHead(h: Tensor): Tensor {
    const w = this.top['lm_head.weight'] ?? this.top['model.embed_tokens.weight'];
    const m = this.config.base.lm_head_multiplier;
    const logits = tf.matMul(h, w, false, true);
    return m === 1 ? logits : tf.mul(logits, m);
  }

  private checkIds(where: string, ids: Tensor, mask?: Tensor): void {
    checkInputIds(where, ids, this.config.base, mask);
  }

  /**
   * Check that every token id is in `[0, vocab_size)`, reading the ids back asynchronously (on a
   * GPU backend the forward never reads them, since that would stall every step, and an
   * out-of-range id there gives NaN logits; on cpu the forward checks them itself).
   * {@link FalconH1ForCausalLM.generate} awaits it for the prompt.
   * @param ids - int32 `[batch, seqlen]`
   * @throws naming the first offending id
   */
  async checkInputIds(ids: Tensor, where = 'checkInputIds'): Promise<void> {
    this.checkIds(where, ids);
    checkTokenIds(where, await ids.data(), this.config.base.vocab_size);
  }

  /**
   * The whole sequence at once (training, evaluation).
   * @param inputIds - int32 `[batch, seqlen]`
   * @returns logits `[batch, seqlen, vocab_size]`, the loss when labels are given, the hidden states when asked
   */
  forward(inputIds: Tensor2D, options: ForwardOptions & { logits: false }): Omit<ForwardOutput, 'logits'>;
  forward(inputIds: Tensor2D, options?: ForwardOptions): ForwardOutput;
  forward(inputIds: Tensor2D, options: ForwardOptions = {}): Omit<ForwardOutput, 'logits'> & { logits?: Tensor3D } {
    this.checkIds('forward', inputIds, options.attentionMask);
    if (this.packedFlag && (options.recompute ?? 'none') !== 'none') throw packedError(`forward with recompute '${options.recompute}' (training)`);
    const [batch, seqlen] = inputIds.shape;
    // a given mask is applied as it is (an all-ones mask masks nothing; no host read to find out)
    const mask = options.attentionMask;
    const hiddenStates: Tensor3D[] = [];
    const out = tf.tidy(() => {
      const positions = positionIds(batch, seqlen, mask);
      let x = this.embed(inputIds);
      for (const layer of this.layers) {
        if (options.outputHiddenStates) hiddenStates.push(tf.keep(x) as Tensor3D);
        x = layer.forward(x, { positions, mask, recompute: options.recompute }).y;
      }
      x = rmsNorm(x, this.top['model.final_layernorm.weight'], this.config.base.rms_norm_eps);
      if (options.outputHiddenStates) hiddenStates.push(tf.keep(x) as Tensor3D);
      const logits = options.logits === false ? undefined : this.head(x);
      const w = this.top['lm_head.weight'] ?? this.top['model.embed_tokens.weight'];
      const lossOf = (labels: Tensor2D) =>
        logits ? causalLmLoss(logits, labels) : lmHeadCrossEntropy(x, w, labels, { multiplier: this.config.base.lm_head_multiplier, chunkSize: options.lossChunkSize });
      const loss = options.labels ? lossOf(options.labels) : undefined;
      return { ...(logits ? { logits } : {}), ...(loss ? { loss } : {}) };
    });
    return { ...out, ...(options.outputHiddenStates ? { hiddenStates } : {}) };
  }

  /**
   * The loss and its gradient for every parameter, keyed by transformers name.
   * @param inputIds - int32 `[batch, seqlen]`
   * @returns loss (scalar) and grads (same names and shapes as {@link FalconH1ForCausalLM.stateDict})
   */
  valueAndGrads(inputIds: Tensor2D, options: { labels?: Tensor2D; attentionMask?: Tensor2D; recompute?: RecomputePolicy; lossChunkSize?: number } = {}): { loss: Scalar; grads: Record<string, Tensor> } {
    const { loss, grads } = this.valueAndVariableGrads(inputIds, options);
    const out: Record<string, Tensor> = {};
    for (const [k, g] of Object.entries(grads)) {
      const m = /^model\.layers\.(\d+)\.fused_out_proj\.weight$/.exec(k);
      if (!m) {
        out[k] = g;
        continue;
      }
      const i = Number(m[1]);
      for (const [name, piece] of Object.entries(this.layers[i].splitFused(g))) out[`model.layers.${i}.${name}`] = piece;
      g.dispose();
    }
    return { loss, grads: out };
  }

  /**
   * The loss and its gradient for every variable, keyed by internal name (as {@link FalconH1ForCausalLM.variables});
   * what the trainer uses.
   */
  valueAndVariableGrads(inputIds: Tensor2D, options: { labels?: Tensor2D; attentionMask?: Tensor2D; recompute?: RecomputePolicy; lossChunkSize?: number } = {}): { loss: Scalar; grads: Record<string, Tensor> } {
    if (this.packedFlag) throw packedError('valueAndGrads (training)');
    const vars = this.variables();
    const names = new Map(Object.entries(vars).map(([k, v]) => [v.name, k]));
    const { value, grads } = tf.variableGrads(
      // the chunked loss: no [batch, seqlen, vocab] logits (nor their softmax and gradient) are kept
      () => this.forward(inputIds, { labels: options.labels ?? inputIds, attentionMask: options.attentionMask, recompute: options.recompute, logits: false, lossChunkSize: options.lossChunkSize }).loss!,
      Object.values(vars),
    );
    const out: Record<string, Tensor> = {};
    for (const [vname, g] of Object.entries(grads)) out[names.get(vname)!] = g;
    for (const [k, v] of Object.entries(vars)) if (!out[k]) out[k] = tf.zerosLike(v);
    return { loss: value, grads: out };
  }

  /**
   * Prefill: run the prompt once and return the last position's logits and the hybrid cache.
   * @internal
   */
  prefill(ids: Tensor2D, capacity: number, mask?: Tensor2D): { logits: Tensor2D; caches: LayerCache[] } {
    const [batch, seqlen] = ids.shape;
    const caches: LayerCache[] = [];
    const logits = tf.tidy(() => {
      const positions = positionIds(batch, seqlen, mask);
      let x = this.embed(ids);
      for (const layer of this.layers) {
        const r = layer.forward(x, { positions, mask, cacheCapacity: capacity });
        x = r.y;
        caches.push(r.cache ?? {});
      }
      x = rmsNorm(tf.slice(x, [0, seqlen - 1, 0], [-1, 1, -1]), this.top['model.final_layernorm.weight'], this.config.base.rms_norm_eps);
      return tf.squeeze(this.head(x), [1]) as Tensor2D;
    });
    return { logits, caches };
  }

  /**
   * One decoding step: the next token of every sequence through the cache (updated in place).
   * @param ids - int32 `[batch, 1]`
   * @param positions - int32 `[batch, 1]` RoPE positions of the new tokens
   * @returns logits `[batch, vocab_size]`
   * @internal
   */
  step(ids: Tensor2D, positions: Tensor2D, caches: LayerCache[]): Tensor2D {
    return this.extend(ids, positions, caches);
  }

  /**
   * A chunk of prompt tokens through the cache (chunked prefill; updated in place): the last
   * position's logits. Equal to running the chunk as part of one `prefill`.
   * @param ids - int32 `[batch, chunk]`
   * @param positions - int32 `[batch, chunk]` RoPE positions of the chunk's tokens
   * @param caches - the caches from `prefill` of the preceding tokens
   * @param mask - `[batch, chunk]` 1 real / 0 left padding (absent: no padding)
   * @returns logits `[batch, vocab_size]`
   * @internal
   */
  extend(ids: Tensor2D, positions: Tensor2D, caches: LayerCache[], mask?: Tensor2D): Tensor2D {
    const n = ids.shape[1];
    // one token per sequence: the residual stream stays [batch, d] (no reshapes: each is a kernel)
    const flat = n === 1 && !mask;
    return tf.tidy(() => {
      let x = flat ? embedTokens(ids, this.top['model.embed_tokens.weight'], this.config, { flat }) : this.embed(ids);
      this.layers.forEach((layer, i) => {
        const r = layer.forward(x, { positions, mask, cache: caches[i] });
        x = r.y;
        if (caches[i].mamba && r.cache?.mamba && r.cache.mamba !== caches[i].mamba) {
          tf.dispose([caches[i].mamba!.convState, caches[i].mamba!.ssmState]);
          caches[i].mamba = r.cache.mamba;
        }
      });
      if (n > 1) x = tf.slice(x, [0, n - 1, 0], [-1, 1, -1]);
      x = rmsNorm(x, this.top['model.final_layernorm.weight'], this.config.base.rms_norm_eps);
      return (flat ? this.flatHead(x) : tf.squeeze(this.head(x), [1])) as Tensor2D;
    });
  }

  /**
   * Read a model saved in the Hugging Face layout (`config.json` + `model.safetensors` or a sharded index).
   * @param dir - the model directory
   */
  static async fromPretrained(dir: string, options: FromPretrainedOptions = {}): Promise<FalconH1ForCausalLM> {
    return loadPretrained(dir, options);
  }

  /**
   * Write `config.json` and `model.safetensors` into `dir` (transformers loads them; a packed
   * model's BitNet weights as transformers' packed BitLinear tensors, which `fromPretrained` reads back packed).
   * @param dir - target directory
   */
  async savePretrained(dir: string, options: SavePretrainedOptions = {}): Promise<void> {
    await savePretrained(this, dir, options);
  }

  /**
   * Generate with the hybrid cache (prefill once, one cached step per token).
   * @param promptIds - int32 `[batch, promptLen]`
   * @returns int32 `[batch, promptLen + new tokens]`
   */
  async generate(promptIds: Tensor2D, options: GenerateOptions): Promise<Tensor2D> {
    // generate's own checks name a prompt of the wrong dtype or rank; here the id range, read asynchronously
    if (promptIds instanceof tf.Tensor && promptIds.rank === 2 && promptIds.dtype === 'int32' && promptIds.size > 0) await this.checkInputIds(promptIds, 'generate');
    return generate(this, promptIds, options);
  }

  /** Free every weight. */
  dispose(): void {
    for (const v of Object.values(this.top)) v.dispose();
    for (const l of this.layers) l.dispose();
  }
}

/**
 * Read a model saved in the Hugging Face layout (`config.json` + `model.safetensors` or a sharded index).
 * @param dir - the model directory
 * @throws when the config is invalid or a tensor is missing, unexpected or misshapen (all listed)
 */
export async function loadPretrained(dir: string, options: FromPretrainedOptions = {}): Promise<FalconH1ForCausalLM> {
  const model = await readPretrained(dir, options, (config) => new FalconH1ForCausalLM(config));
  if (options.packTernary && !model.isPacked) {
    try {
      await model.packTernary();
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  return model;
}
