/**
 * `TensorParallelFalconH1`: one tensor-parallel rank of the Falcon-H1 causal LM. It holds this
 * rank's pieces of every parameter (Hugging Face names, cut by the {@link TensorParallelLayout}'s
 * plan), runs the vocab-parallel embedding, the TP layers and the vocab-parallel lm_head and
 * cross-entropy (the full logits never exist on any rank), and returns gradients of its pieces
 * with the layout's gradient rule applied. Every rank of the TP group calls the same methods with
 * the same inputs.
 */
import { allReduceSync, gatherShards, reduceShardGradient, replicated, takeShard, enterTensorParallel, vocabParallelCrossEntropy, vocabParallelEmbedding } from '@falcon/parallel';
import type { ProcessGroup } from '@falcon/parallel';
import type { RopeParameters } from '@falcon/attention';
import { rmsNorm, sumInOrder, tf } from '@falcon/tensor';
import type { Scalar, Tensor, Tensor2D, Variable } from '@falcon/tensor';
import { falconH1Dims } from '@falcon/checkpoint';
import type { HybridConfig } from '../../config.js';
import { checkInputIds, checkTokenIds } from '../../checks.js';
import { IGNORE_INDEX } from '../../loss.js';
import type { FalconH1ForCausalLM } from '../../model.js';
import { positionIds } from '../../model.js';
import { ropeOf } from './attention_shard.js';
import { tensorParallelLayer } from './layer.js';
import type { TensorParallelContext, TensorParallelDecode } from './layer.js';
import type { CausalLm } from '../../causal_lm.js';
import { generate } from '../../generate.js';
import type { GenerateOptions } from '../../generate.js';
import type { LayerCache } from '../../parallel_hybrid_layer.js';
import { tensorParallelLayout } from './layout.js';
import { tensorParallelElementWeights } from './element_weights.js';
import type { HeadSplit, TensorParallelLayout } from './layout.js';

/** Options of {@link TensorParallelFalconH1.fromModel}. */
export interface TensorParallelModelOptions {
  /** The tensor-parallel group (its size is t, its rank this rank's TP index). */
  group: ProcessGroup;
  /** Sequence parallelism (default false; the sequence length must then be divisible by t). */
  sequenceParallel?: boolean;
  /** Head counts per rank of every layer (default: even; see `routeHeads`). */
  splits?: HeadSplit[];
}

/** Inputs of {@link TensorParallelFalconH1.forward}. */
export interface TensorParallelForwardOptions {
  /** int32 `[batch, seqlen]`: compute the causal LM loss against these (shifted inside; −100 ignored). */
  labels?: Tensor2D;
  /** `[batch, seqlen]` 1 keep / 0 padding. */
  attentionMask?: Tensor2D;
  /** Also return this rank's vocabulary slice of the logits (default false). */
  logits?: boolean;
}

/** One TP rank of the Falcon-H1 causal LM. */
export class TensorParallelFalconH1 implements CausalLm {
  /** This rank's parameter pieces by HF name (`layout.plan` says how each is cut). */
  readonly params: Record<string, Variable> = {};
  private readonly ctx: TensorParallelContext;
  private weightsCache?: Record<string, number | Tensor | undefined>;

  /**
   * @param config - the model config
   * @param layout - this rank's layout ({@link tensorParallelLayout})
   * @param group - the TP group (size `layout.size`, rank `layout.rank`)
   * @param weights - the FULL weights by HF name (each rank cuts its pieces; not disposed)
   */
  constructor(
    readonly config: HybridConfig,
    readonly layout: TensorParallelLayout,
    readonly group: ProcessGroup,
    weights: Record<string, Tensor>,
  ) {
    if (group.size !== layout.size || group.rank !== layout.rank) throw new Error(`TensorParallelFalconH1: the layout is for rank ${layout.rank} of ${layout.size}, the group is rank ${group.rank} of ${group.size}`);
    for (const [name, spec] of Object.entries(layout.plan)) {
      const full = weights[name];
      if (!full) throw new Error(`TensorParallelFalconH1: missing weight '${name}'`);
      this.params[name] = tf.variable(tf.tidy(() => takeShard(full, spec)), true);
    }
    const b = config.base;
    const hd = falconH1Dims(b).head_dim;
    this.ctx = { config, layout, group, params: this.params, attention: { headDim: hd, keyMultiplier: b.key_multiplier, rope: ropeOf(b.rope_parameters as RopeParameters, hd, b.max_position_embeddings) } };
  }

  /**
   * This rank of a TP group, its weights cut from a full one-rank model (the same model on every rank).
   * @param model - the full model
   */
  static fromModel(model: FalconH1ForCausalLM, opts: TensorParallelModelOptions): TensorParallelFalconH1 {
    const layout = tensorParallelLayout(model.config, { size: opts.group.size, rank: opts.group.rank, sequenceParallel: opts.sequenceParallel, splits: opts.splits });
    const weights = model.stateDict();
    try {
      return new TensorParallelFalconH1(model.config, layout, opts.group, weights);
    } finally {
      for (const k of ['self_attn.o_proj.weight', 'mamba.out_proj.weight']) for (const [n, t] of Object.entries(weights)) if (n.endsWith(k)) t.dispose();
    }
  }

  /**
   * The causal LM over a whole sequence.
   * @param inputIds - int32 `[batch, seqlen]` (the same on every rank)
   * @returns the mean loss (when labels are given; the same on every rank) and, when asked, this
   *   rank's logits `[batch, seqlen, vocabEnd − vocabStart]` (vocabulary `layout.vocab`)
   */
  forward(inputIds: Tensor2D, opts: TensorParallelForwardOptions = {}): { loss?: Scalar; logits?: Tensor } {
    const b = this.config.base;
    checkInputIds('TensorParallelFalconH1.forward', inputIds, b, opts.attentionMask);
    checkTokenIds('TensorParallelFalconH1.forward', inputIds.dataSync(), b.vocab_size);
    const [batch, seqlen] = inputIds.shape;
    const t = this.layout.size;
    const sp = this.layout.sequenceParallel;
    if (sp && seqlen % t !== 0) throw new Error(`TensorParallelFalconH1.forward: with sequence parallelism the sequence length (${seqlen}) must be divisible by the TP size (${t})`);
    const group = this.group;
    const opts_ = { group, sequenceParallel: sp };
    return tf.tidy(() => {
      const positions = positionIds(batch, seqlen, opts.attentionMask);
      const emb = this.params['model.embed_tokens.weight'];
      let x = tf.mul(vocabParallelEmbedding(inputIds, emb, { ...opts_, vocabStart: this.layout.vocab[0] }), b.embedding_multiplier);
      for (let i = 0; i < this.config.layers.length; i++) x = tensorParallelLayer(x, i, this.ctx, positions, opts.attentionMask);
      x = enterTensorParallel(rmsNorm(x, this.params['model.final_layernorm.weight'], b.rms_norm_eps), opts_);
      const head = this.params['lm_head.weight'] ?? emb;
      const d = b.hidden_size;
      const logits = tf.mul(tf.matMul(tf.reshape(x, [batch * seqlen, d]), head, false, true), b.lm_head_multiplier);
      const out: { loss?: Scalar; logits?: Tensor } = {};
      if (opts.logits) out.logits = tf.reshape(logits, [batch, seqlen, -1]);
      if (opts.labels) {
        const vl = logits.shape[1] as number;
        const shifted = tf.reshape(tf.slice(tf.reshape(logits, [batch, seqlen, vl]), [0, 0, 0], [batch, seqlen - 1, vl]), [batch * (seqlen - 1), vl]);
        const targets = tf.reshape(tf.slice(tf.cast(opts.labels, 'int32'), [0, 1], [batch, seqlen - 1]), [-1]);
        const per = vocabParallelCrossEntropy(shifted, targets, { vocabStart: this.layout.vocab[0], group, ignoreIndex: IGNORE_INDEX });
        const count = tf.maximum(tf.sum(tf.cast(tf.notEqual(targets, IGNORE_INDEX), 'float32')), 1);
        out.loss = tf.div(tf.sum(per), count) as Scalar;
      }
      return out;
    });
  }

  /**
   * The loss and the gradient of every piece this rank holds (HF names, shapes of the pieces), the
   * layout's `reduceOverTp` gradients summed over the TP group.
   * @param inputIds - int32 `[batch, seqlen]`
   */
  valueAndGrads(inputIds: Tensor2D, opts: { labels?: Tensor2D; attentionMask?: Tensor2D } = {}): { loss: Scalar; grads: Record<string, Tensor> } {
    const names = new Map(Object.entries(this.params).map(([k, v]) => [v.name, k]));
    const { value, grads } = tf.variableGrads(() => this.forward(inputIds, { labels: opts.labels ?? inputIds, attentionMask: opts.attentionMask }).loss!, Object.values(this.params));
    const out: Record<string, Tensor> = {};
    for (const [vname, g] of Object.entries(grads)) out[names.get(vname)!] = g;
    for (const [k, v] of Object.entries(this.params)) if (!out[k]) out[k] = tf.zerosLike(v);
    for (const name of this.layout.reduceOverTp) {
      // a rank that does not hold the parameter takes part with zeros
      const held = name in this.layout.plan;
      const local = held ? out[name] : tf.zeros(this.layout.shapes[name]);
      const summed = reduceShardGradient(local, this.layout.plan[name] ?? replicated(this.layout.shapes[name]), { group: this.group });
      local.dispose();
      if (held) out[name] = summed;
      else summed.dispose();
    }
    return { loss: value, grads: out };
  }

  /**
   * The full tensors of pieces keyed by HF name (e.g. {@link TensorParallelFalconH1.valueAndGrads}'
   * gradients), gathered over the TP group by the plan. Every rank calls it; every rank gets them all.
   * @param pieces - this rank's pieces (names of `layout.plan`)
   * @returns every parameter of the model at its full shape
   */
  gather(pieces: Record<string, Tensor>): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, shape] of Object.entries(this.layout.shapes)) {
      const spec = this.layout.plan[name];
      out[name] = gatherShards(spec ? pieces[name] : undefined, spec, { group: this.group, shape });
    }
    return out;
  }

  /** This rank's vocabulary slice of the logits `[rows, d]` → the full logits `[rows, vocab]` (one row per sequence: sampling needs every entry). */
  private fullLogits(h: Tensor): Tensor2D {
    const b = this.config.base;
    return tf.tidy(() => {
      const head = this.params['lm_head.weight'] ?? this.params['model.embed_tokens.weight'];
      const local = tf.mul(tf.matMul(h, head, false, true), b.lm_head_multiplier);
      const rows = h.shape[0];
      return gatherShards(local, { shape: [rows, b.vocab_size], axis: 1, ranges: [this.layout.vocab] }, { group: this.group }) as Tensor2D;
    });
  }

  private embed(ids: Tensor): Tensor {
    return tf.mul(vocabParallelEmbedding(ids, this.params['model.embed_tokens.weight'], { group: this.group, vocabStart: this.layout.vocab[0] }), this.config.base.embedding_multiplier);
  }

  private noSp(where: string): void {
    if (this.layout.sequenceParallel) throw new Error(`TensorParallelFalconH1.${where}: generation with the hybrid cache runs without sequence parallelism (build the model with sequenceParallel false)`);
  }

  /**
   * Prefill: run the prompt once; the last position's full logits and this rank's hybrid cache.
   * @internal
   */
  prefill(ids: Tensor2D, capacity: number, mask?: Tensor2D): { logits: Tensor2D; caches: LayerCache[] } {
    this.noSp('prefill');
    const [batch, seqlen] = ids.shape;
    const caches: LayerCache[] = [];
    const b = this.config.base;
    const logits = tf.tidy(() => {
      const positions = positionIds(batch, seqlen, mask);
      let x = this.embed(ids);
      for (let i = 0; i < this.config.layers.length; i++) {
        const decode: TensorParallelDecode = { capacity };
        x = tensorParallelLayer(x, i, this.ctx, positions, mask, decode);
        caches.push(decode.next ?? {});
      }
      const last = rmsNorm(tf.slice(x, [0, seqlen - 1, 0], [-1, 1, -1]), this.params['model.final_layernorm.weight'], b.rms_norm_eps);
      return this.fullLogits(tf.reshape(last, [batch, b.hidden_size]));
    });
    return { logits, caches };
  }

  /**
   * One decoding step through this rank's cache (updated in place).
   * @param ids - int32 `[batch, 1]`
   * @param positions - int32 `[batch, 1]`
   * @returns the full logits `[batch, vocab_size]`, the same on every rank
   * @internal
   */
  step(ids: Tensor2D, positions: Tensor2D, caches: LayerCache[]): Tensor2D {
    this.noSp('step');
    const b = this.config.base;
    return tf.tidy(() => {
      let x = this.embed(ids);
      for (let i = 0; i < this.config.layers.length; i++) {
        const decode: TensorParallelDecode = { cache: caches[i] };
        x = tensorParallelLayer(x, i, this.ctx, positions, undefined, decode);
        const next = decode.next!;
        if (caches[i].mamba && next.mamba) {
          tf.dispose([caches[i].mamba!.convState, caches[i].mamba!.ssmState]);
          caches[i].mamba = next.mamba;
        }
      }
      x = rmsNorm(x, this.params['model.final_layernorm.weight'], b.rms_norm_eps);
      return this.fullLogits(tf.reshape(x, [ids.shape[0], b.hidden_size]));
    });
  }

  /**
   * Generate with the hybrid cache (prefill once, one cached step per token); every rank calls it
   * with the same prompt and options and gets the same tokens (each samples from the same gathered logits).
   * @param promptIds - int32 `[batch, promptLen]`
   * @returns int32 `[batch, promptLen + new tokens]`
   */
  async generate(promptIds: Tensor2D, options: GenerateOptions): Promise<Tensor2D> {
    this.noSp('generate');
    return generate(this, promptIds, options);
  }

  /** The full weights by HF name, gathered over the TP group (every rank calls it). */
  stateDict(): Record<string, Tensor> {
    return this.gather(this.params);
  }

  /** The full shape of every weight by HF name. */
  stateDictShapes(): Map<string, number[]> {
    return new Map(Object.entries(this.layout.shapes).map(([k, s]) => [k, [...s]]));
  }

  /**
   * Load full weights by HF name (each rank cuts its pieces; every name and shape checked first).
   * @throws naming the missing, unexpected or misshapen weight
   */
  loadStateDict(weights: Record<string, Tensor>): void {
    const problems: string[] = [];
    for (const [k, shape] of Object.entries(this.layout.shapes)) {
      const t = weights[k];
      if (!t) problems.push(`missing '${k}' [${shape}]`);
      else if (!tf.util.arraysEqual(t.shape, shape)) problems.push(`'${k}' has shape [${t.shape}], expected [${shape}]`);
    }
    for (const k of Object.keys(weights)) if (!(k in this.layout.shapes)) problems.push(`unexpected '${k}'`);
    if (problems.length) throw new Error(`TensorParallelFalconH1.loadStateDict: ${problems.join('; ')}`);
    for (const [k, spec] of Object.entries(this.layout.plan)) tf.tidy(() => this.params[k].assign(takeShard(weights[k], spec)));
  }

  /**
   * The squared global norm of gradients of this rank's pieces (e.g. from
   * {@link TensorParallelFalconH1.valueAndGrads}) as the one-rank model's gradients have it: every
   * element counted once over the TP group (an element held by k ranks counts 1/k on each),
   * all-reduced. Every rank calls it; for clipping by the global norm.
   * @returns a scalar, the same on every rank
   */
  gradSquaredNorm(grads: Record<string, Tensor>): Scalar {
    const weights = this.elementWeights();
    return tf.tidy(() => {
      const parts = Object.keys(this.layout.plan).map((name) => {
        const g2 = tf.square(grads[name]);
        const w = weights[name];
        if (w === undefined) return tf.sum(g2);
        if (typeof w === 'number') return tf.mul(tf.sum(g2), w);
        const axis = this.layout.plan[name].axis!;
        return tf.sum(tf.mul(g2, tf.reshape(w, grads[name].shape.map((d, i) => (i === axis ? d : 1)))));
      });
      const local = parts.length ? tf.reshape(sumInOrder(parts), [1]) : tf.zeros([1]);
      return tf.reshape(allReduceSync(local, { group: this.group }), []) as Scalar;
    });
  }

  /** Per parameter: undefined (every element held once), a number (replicated: 1/t), or 1/multiplicity per index along the shard axis. */
  private elementWeights(): Record<string, number | Tensor | undefined> {
    this.weightsCache ??= tensorParallelElementWeights(this.config, this.layout);
    return this.weightsCache;
  }

  /** Free this rank's parameters. */
  dispose(): void {
    for (const v of Object.values(this.params)) v.dispose();
    for (const w of Object.values(this.weightsCache ?? {})) if (w instanceof tf.Tensor) w.dispose();
  }
}
