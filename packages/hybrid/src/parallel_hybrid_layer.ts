/**
 * `ParallelHybridLayer`: one Falcon-H1 decoder layer. Attention and Mamba-2 run side by side on the
 * same normalised input; their outputs (each times its μP output multiplier) are concatenated along
 * the features and go through ONE shared output projection, then the SwiGLU MLP, with residuals:
 *
 *   u = RMSNorm(x); a = Attn(u·α_in); m = Mamba2(u)
 *   x = x + [a·α_attn_out, m·α_ssm_out] @ [o_proj | out_proj]ᵀ (+ o_proj.bias·α_attn_out + out_proj.bias·α_ssm_out)
 *   x = x + MLP(RMSNorm(x))
 *
 * which is transformers' `o_proj(a)·α_attn_out + out_proj(m)·α_ssm_out` computed as one product.
 */
import { Attention } from '@falcon/attention';
import type { AttentionConfig, AttentionForwardOptions, KVCache } from '@falcon/attention';
import { Mamba2Mixer } from '@falcon/mamba2';
import type { Mamba2Cache, Mamba2ForwardOptions } from '@falcon/mamba2';
import { init, rmsNorm, tf, variableFrom } from '@falcon/tensor';
import type { Tensor, Tensor2D, Variable } from '@falcon/tensor';
import { PackedBitLinear } from '@falcon/bitnet';
import type { RawTensorData } from '@falcon/bitnet';
import type { HybridConfig } from './config.js';
import { layerDims } from './config.js';
import { bitnetMatMul, groupScales, linear, products } from './linear.js';
import type { LinearWeight } from './linear.js';
import { mlp } from './mlp.js';
import type { MlpParams } from './mlp.js';
import { bitnetWeightNames, concatPackedColumns, packedError, packedTensors, packTernaryWeight } from './pack_ternary.js';
import type { RecomputePolicy } from './recompute.js';
import { recomputed } from './recompute.js';

/** The decoding state of one layer. */
export interface LayerCache {
  /** Attention's KV cache (absent for a pure Mamba-2 layer). */
  kv?: KVCache;
  /** Mamba-2's conv and SSM states (absent for a pure attention layer). */
  mamba?: Mamba2Cache;
}

/** Per-call inputs shared by every layer. */
export interface LayerInputs {
  /** RoPE positions, int32 `[batch, seqlen]`. */
  positions: Tensor;
  /** `[batch, seqlen]` 1 keep / 0 padding (absent: no padding). */
  mask?: Tensor;
  /** Prefill: KV cache capacity to allocate (returns the cache). */
  cacheCapacity?: number;
  /** Decoding: the layer's cache to continue from (updated in place / replaced). */
  cache?: LayerCache;
  /** Training: sub-layers whose activations are recomputed in the backward (default none). */
  recompute?: RecomputePolicy;
  /** Context parallelism: attention's core (see the `attend` option of `Attention.forwardPreProjection`). */
  attend?: AttentionForwardOptions['attend'];
  /** Context parallelism: Mamba-2's conv + SSD core (see the `core` option of `Mamba2Mixer.forwardPreProjection`). */
  mambaCore?: Mamba2ForwardOptions['core'];
}

const FUSED = 'fused_out_proj.weight';

/** One Falcon-H1 decoder layer (attention ∥ Mamba-2, shared output projection, MLP). */
export class ParallelHybridLayer {
  /** The attention block (absent when the layer has no attention heads). */
  readonly attention?: Attention;
  /** The Mamba-2 mixer (absent when the layer has no Mamba-2 heads). */
  readonly mamba?: Mamba2Mixer;
  /** Parameters owned directly by the layer: norms, fused projection, its biases, the MLP. */
  readonly own: Record<string, Variable> = {};
  private readonly attnWidth: number;
  private readonly dSsm: number;
  /** After {@link ParallelHybridLayer.packTernary}: the packed form of each BitNet weight, by its (freed) float variable. */
  private readonly packed = new Map<Tensor, PackedBitLinear>();
  /** The μP output multipliers per feature of `[a, m]` (decode step), when the two differ and both mixers exist. */
  private readonly mixerScale?: Tensor;
  /** The product of the mixers' BitNet projections: the packed form of their weight once packed. */
  private readonly bitnetProjection = (x: Tensor, w: Tensor): Tensor => bitnetMatMul(x, this.weight(w));
  /** Attention's q/k/v products of one input: once packed, one shared input quantisation ({@link products}). */
  private readonly bitnetProjections = (x: Tensor, ws: Tensor[]): Tensor[] => {
    const packed = ws.map((w) => this.weight(w));
    return products(x, packed, true, packed[0] instanceof PackedBitLinear ? this.groupScale.get(packed[0]) : undefined);
  };
  /** Packed weight groups sharing an input (q|k|v, gate|up): their per-column scales, by the group's first weight (made when packed). */
  private readonly groupScale = new Map<PackedBitLinear, Tensor>();

  /**
   * @param config - the model config
   * @param index - which layer (for its head counts and the seeds of its initialisation)
   * @param seed - base seed of the initialisation
   */
  constructor(
    private readonly config: HybridConfig,
    readonly index: number,
    seed = 0,
  ) {
    const b = config.base;
    const heads = config.layers[index];
    const { headDim, attnWidth, dSsm } = layerDims(config, index);
    this.attnWidth = attnWidth;
    this.dSsm = dSsm;
    const std = b.initializer_range;
    const s = seed + index * 101;
    if (heads.attentionHeads > 0) {
      this.attention = new Attention({
        hiddenSize: b.hidden_size,
        numHeads: heads.attentionHeads,
        numKvHeads: heads.kvHeads,
        headDim,
        rope: b.rope_parameters as AttentionConfig['rope'],
        maxPositionEmbeddings: b.max_position_embeddings,
        keyMultiplier: b.key_multiplier,
        attentionBias: b.attention_bias,
        outputProjection: false,
        initializerRange: std,
        seed: s + 1,
        ...(config.bitnet.attention ? { projection: this.bitnetProjection, projections: this.bitnetProjections } : {}),
      });
    }
    if (heads.mambaHeads > 0) {
      this.mamba = new Mamba2Mixer({
        dModel: b.hidden_size,
        nHeads: heads.mambaHeads,
        headDim: b.mamba_d_head,
        nGroups: b.mamba_n_groups,
        dState: b.mamba_d_state,
        dConv: b.mamba_d_conv,
        chunkSize: b.mamba_chunk_size,
        dSsm,
        rmsNormEps: b.rms_norm_eps,
        rmsNorm: b.mamba_rms_norm,
        normBeforeGate: b.mamba_norm_before_gate,
        ssmMultipliers: b.ssm_multipliers,
        ssmInMultiplier: b.ssm_in_multiplier,
        timeStepLimit: b.time_step_limit ?? [0, Infinity],
        projBias: b.mamba_proj_bias,
        convBias: b.mamba_conv_bias,
        outputProjection: false,
        initializerRange: std,
        seed: s + 2,
        ...(config.bitnet.mamba ? { projection: this.bitnetProjection } : {}),
      });
    }
    if (this.attention && this.mamba && b.attention_out_multiplier !== b.ssm_out_multiplier) {
      const w = new Float32Array(attnWidth + dSsm).fill(b.ssm_out_multiplier, attnWidth).fill(b.attention_out_multiplier, 0, attnWidth);
      this.mixerScale = tf.keep(tf.tensor1d(w));
    }
    const d = b.hidden_size;
    const f = b.intermediate_size;
    const v = (t: Tensor) => variableFrom(t);
    this.own['input_layernorm.weight'] = v(init.ones([d]));
    this.own['pre_ff_layernorm.weight'] = v(init.ones([d]));
    this.own[FUSED] = v(init.normal([d, attnWidth + dSsm], { std, seed: s + 3 }));
    if (this.attention && b.attention_bias) this.own['self_attn.o_proj.bias'] = v(init.zeros([d]));
    if (this.mamba && b.projectors_bias) this.own['mamba.out_proj.bias'] = v(init.zeros([d]));
    this.own['feed_forward.gate_proj.weight'] = v(init.normal([f, d], { std, seed: s + 4 }));
    this.own['feed_forward.up_proj.weight'] = v(init.normal([f, d], { std, seed: s + 5 }));
    this.own['feed_forward.down_proj.weight'] = v(init.normal([d, f], { std, seed: s + 6 }));
    if (b.mlp_bias) for (const n of ['gate', 'up', 'down']) this.own[`feed_forward.${n}_proj.bias`] = v(init.zeros([n === 'down' ? d : f]));
  }

  /** Whether {@link ParallelHybridLayer.packTernary} has run. */
  get isPacked(): boolean {
    return this.packed.size > 0;
  }

  /**
   * Every trainable variable of the layer, by its internal name (the fused projection is one variable).
   * @throws for a packed layer (its BitNet weights are no longer variables)
   */
  variables(): Record<string, Variable> {
    if (this.isPacked) throw packedError(`layer ${this.index}: variables`);
    return this.allVariables();
  }

  private allVariables(): Record<string, Variable> {
    const out: Record<string, Variable> = { ...this.own };
    for (const [k, p] of Object.entries(this.attention?.parameters() ?? {})) out[`self_attn.${k}`] = p;
    for (const [k, p] of Object.entries(this.mamba?.parameters() ?? {})) out[`mamba.${k}`] = p;
    return out;
  }

  /**
   * The layer's float weights under transformers' names (relative to `model.layers.{i}.`), with the fused
   * projection split back into `self_attn.o_proj.weight` and `mamba.out_proj.weight`. Packed weights
   * are left out (see {@link ParallelHybridLayer.packedTransformersTensors}).
   * @returns new tensors for the split pieces, the live variables for the rest
   */
  transformersWeights(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, p] of Object.entries(this.allVariables())) {
      if (k !== FUSED && !this.packed.has(p)) out[k] = p;
    }
    if (!this.packed.has(this.own[FUSED])) Object.assign(out, this.splitFused(this.own[FUSED]));
    return out;
  }

  /**
   * The packed weights as transformers' packed `BitLinear` tensors (relative to `model.layers.{i}.`):
   * `<proj>.weight` U8 `[ceil(out/4), in]` and `<proj>.weight_scale` F32 `[1]`; the fused projection
   * is split into o_proj and out_proj, each with the fused matrix's scale.
   */
  packedTransformersTensors(): Record<string, RawTensorData> {
    const out: Record<string, RawTensorData> = {};
    for (const [k, p] of Object.entries(this.packedWeights())) {
      if (k !== FUSED) Object.assign(out, packedTensors(k.slice(0, -'.weight'.length), p));
      else {
        if (this.attention) Object.assign(out, packedTensors('self_attn.o_proj', p, [0, this.attnWidth]));
        if (this.mamba) Object.assign(out, packedTensors('mamba.out_proj', p, [this.attnWidth, this.dSsm]));
      }
    }
    return out;
  }

  /** The shape of every weight under transformers' names (relative to `model.layers.{i}.`). */
  transformersShapes(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [k, p] of Object.entries(this.allVariables())) if (k !== FUSED) out[k] = [...p.shape];
    const d = this.config.base.hidden_size;
    if (this.attention) out['self_attn.o_proj.weight'] = [d, this.attnWidth];
    if (this.mamba) out['mamba.out_proj.weight'] = [d, this.dSsm];
    return out;
  }

  /** Split a `[d, attnWidth + dSsm]` tensor (the fused weight or its gradient) into transformers' two names. */
  splitFused(t: Tensor): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    if (this.attention) out['self_attn.o_proj.weight'] = tf.slice(t, [0, 0], [-1, this.attnWidth]);
    if (this.mamba) out['mamba.out_proj.weight'] = tf.slice(t, [0, this.attnWidth], [-1, this.dSsm]);
    return out;
  }

  /**
   * Load transformers weights (names relative to `model.layers.{i}.`); o_proj and out_proj are stacked
   * into the fused projection. Every name and shape is checked before anything is assigned.
   * @param packed - a packed checkpoint's BitNet weights by the same names (`…_proj.weight`): exactly
   *   the weights the config makes BitNet (see {@link ParallelHybridLayer.packedProblems}); they replace
   *   the float weights, which are freed (the layer is then packed). The layer takes them over (and
   *   frees o_proj's and out_proj's once stacked).
   */
  loadTransformersWeights(w: Record<string, Tensor>, packed: Record<string, PackedBitLinear> = {}): void {
    const where = `layer ${this.index}`;
    if (this.isPacked) throw packedError(`${where}: loadStateDict`);
    const problems = this.packedProblems(packed);
    if (problems.length) throw new Error(`${where}: ${problems.join('; ')}`);
    const internal = Object.keys(packed).length ? bitnetWeightNames(this.config.bitnet, { attention: !!this.attention, mamba: !!this.mamba }) : [];
    // a packed weight's variable keeps its current value (a copy stands in for it) until it is freed below
    const vars = this.allVariables();
    const standIns: Record<string, Tensor> = {};
    for (const k of internal) Object.assign(standIns, k === FUSED ? this.splitFused(vars[FUSED]) : { [k]: tf.clone(vars[k]) });
    try {
      this.loadFloat({ ...w, ...standIns }, where);
    } finally {
      tf.dispose(Object.values(standIns));
    }
    for (const k of internal) {
      let p = packed[k];
      if (k === FUSED) {
        const parts = this.fusedNames().map((n): [string, PackedBitLinear] => [n, packed[n]]);
        p = concatPackedColumns(parts, where);
        if (parts.length > 1) for (const [, q] of parts) q.dispose();
      }
      this.packed.set(vars[k], p);
      vars[k].dispose();
    }
    this.makeGroupScales();
  }

  /** The per-column scales of the packed groups that share an input (q|k|v, gate|up), kept until dispose. */
  private makeGroupScales(): void {
    const vars = this.allVariables();
    const groups = [
      ['self_attn.q_proj.weight', 'self_attn.k_proj.weight', 'self_attn.v_proj.weight'],
      ['feed_forward.gate_proj.weight', 'feed_forward.up_proj.weight'],
    ];
    for (const names of groups) {
      const ws = names.map((n) => (vars[n] ? this.packed.get(vars[n]) : undefined));
      if (ws.some((w) => !w)) continue;
      const t = groupScales(ws as PackedBitLinear[]);
      if (t) this.groupScale.set(ws[0]!, tf.keep(t));
    }
  }

  /** transformers' names of the fused projection's parts in this layer (o_proj, out_proj). */
  private fusedNames(): string[] {
    return [...(this.attention ? ['self_attn.o_proj.weight'] : []), ...(this.mamba ? ['mamba.out_proj.weight'] : [])];
  }

  /**
   * What is wrong with a packed checkpoint's weights for this layer (empty: they fit): they must be
   * exactly the weights the config makes BitNet, of the right shapes, o_proj's and out_proj's with
   * one scale (the fused projection's).
   * @param packed - by transformers name relative to `model.layers.{i}.`
   * @param checkpointPacked - whether the checkpoint is packed at all (other layers' weights are;
   *   default: whether `packed` holds any): then this layer's BitNet weights must be packed too
   */
  packedProblems(packed: Record<string, PackedBitLinear>, checkpointPacked = Object.keys(packed).length > 0): string[] {
    const names = Object.keys(packed);
    if (!checkpointPacked) return [];
    const shapes = this.transformersShapes();
    const internal = bitnetWeightNames(this.config.bitnet, { attention: !!this.attention, mamba: !!this.mamba });
    const want = internal.flatMap((k) => (k === FUSED ? this.fusedNames() : [k]));
    const problems: string[] = [];
    for (const k of names) if (!want.includes(k)) problems.push(`'${k}' is packed, but the config does not make it a BitNet weight`);
    for (const k of want) {
      const p = packed[k];
      if (!p) problems.push(`'${k}' is not packed, but the config makes it BitNet and other weights are packed`);
      else if (p.outFeatures !== shapes[k][0] || p.inFeatures !== shapes[k][1]) problems.push(`packed '${k}' is [${p.outFeatures}, ${p.inFeatures}], expected [${shapes[k]}]`);
    }
    const fused = this.fusedNames().filter((n) => packed[n]);
    if (fused.length === 2 && packed[fused[0]].weightScale !== packed[fused[1]].weightScale) {
      problems.push(`packed o_proj and out_proj have weight_scale ${packed[fused[0]].weightScale} and ${packed[fused[1]].weightScale}; the fused projection is one BitNet matrix with one scale`);
    }
    return problems;
  }

  private loadFloat(w: Record<string, Tensor>, where: string): void {
    const attn: Record<string, Tensor> = {};
    const mamba: Record<string, Tensor> = {};
    const own: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(w)) {
      if (k === 'self_attn.o_proj.weight' || k === 'mamba.out_proj.weight') continue;
      if (k in this.own) own[k] = t;
      else if (k.startsWith('self_attn.')) attn[k.slice(10)] = t;
      else if (k.startsWith('mamba.')) mamba[k.slice(6)] = t;
      else throw new Error(`${where}: unexpected weight '${k}'`);
    }
    const pieces: Tensor[] = [];
    for (const [name, present, width] of [
      ['self_attn.o_proj.weight', !!this.attention, this.attnWidth],
      ['mamba.out_proj.weight', !!this.mamba, this.dSsm],
    ] as const) {
      const t = w[name];
      if (!present) continue;
      if (!t) throw new Error(`${where}: missing weight '${name}'`);
      if (!tf.util.arraysEqual(t.shape, [this.config.base.hidden_size, width])) {
        throw new Error(`${where}: weight '${name}' has shape [${t.shape}], expected [${this.config.base.hidden_size}, ${width}]`);
      }
      pieces.push(t);
    }
    for (const [k, p] of Object.entries(this.own)) {
      if (k === FUSED) continue;
      const t = own[k];
      if (!t) throw new Error(`${where}: missing weight '${k}'`);
      if (!tf.util.arraysEqual(t.shape, p.shape)) throw new Error(`${where}: weight '${k}' has shape [${t.shape}], expected [${p.shape}]`);
    }
    this.attention?.loadWeights(attn);
    this.mamba?.loadWeights(mamba);
    for (const [k, p] of Object.entries(this.own)) {
      if (k !== FUSED) p.assign(own[k]);
    }
    tf.tidy(() => this.own[FUSED].assign(pieces.length === 1 ? pieces[0] : tf.concat(pieces, 1)));
  }

  /**
   * Run the layer over a sequence (training, prefill) or new tokens (decoding, when `inputs.cache` is given).
   * @param x - residual stream `[batch, seqlen, d]`; in a decode step (with `inputs.cache`, no mask)
   *   also `[batch, d]`, one token per sequence (positions `[batch, 1]`), the form with the fewest kernels
   * @returns the new residual stream (the shape of x) and, for prefill/decoding, the layer's cache
   */
  forward(x: Tensor, inputs: LayerInputs): { y: Tensor; cache?: LayerCache } {
    const b = this.config.base;
    let cache: LayerCache | undefined;
    const rec = inputs.cache || inputs.cacheCapacity !== undefined ? 'none' : (inputs.recompute ?? 'none');
    if (rec !== 'none' && this.isPacked) throw packedError(`layer ${this.index}: forward with recompute '${rec}' (training)`);
    if (rec === 'layer') {
      const whole = (t: Tensor, [positions, mask]: (Tensor | undefined)[]) => this.forward(t, { ...inputs, positions: positions!, mask, recompute: 'none' }).y;
      return { y: recomputed(whole, x, Object.values(this.variables()), [inputs.positions, inputs.mask]) };
    }
    if (inputs.cache && x.rank === 2) {
      if (inputs.mask) throw new Error(`layer ${this.index}: a 2-D decode step ([batch, d], one token per sequence) takes no padding mask; pass x as [batch, 1, d]`);
      return this.stepFlat(x, inputs.positions, inputs.cache);
    }
    const y = tf.tidy(() => {
      const u = rmsNorm(x, this.own['input_layernorm.weight'], b.rms_norm_eps);
      const parts: Tensor[] = [];
      const next: LayerCache = {};
      if (this.attention) {
        const ua = tf.mul(u, b.attention_in_multiplier);
        let a: Tensor;
        if (inputs.cache) {
          a = this.attention.stepPreProjection(ua, inputs.cache.kv!, { positions: inputs.positions, keyPaddingMask: inputs.mask });
          next.kv = inputs.cache.kv;
        } else if (rec === 'attention' || rec === 'both') {
          const attn = this.attention;
          a = recomputed((t, [pos, mask]) => attn.forwardPreProjection(t, { positions: pos, keyPaddingMask: mask, attend: inputs.attend }).output, ua, Object.values(attn.parameters()), [inputs.positions, inputs.mask]);
        } else {
          const r = this.attention.forwardPreProjection(ua, { positions: inputs.positions, keyPaddingMask: inputs.mask, cacheCapacity: inputs.cacheCapacity, attend: inputs.attend });
          a = r.output;
          if (r.cache) next.kv = r.cache;
        }
        parts.push(tf.mul(a, b.attention_out_multiplier));
      }
      if (this.mamba) {
        let m: Tensor;
        if (inputs.cache && (x.shape[1]! > 1 || inputs.mask)) {
          // a chunk of prompt tokens (chunked prefill; padding masked): the scan continued from the cached states
          const r = this.mamba.forwardPreProjection(u, { attentionMask: inputs.mask, cache: inputs.cache.mamba!, returnCache: true });
          m = r.y;
          next.mamba = { convState: tf.keep(r.cache!.convState), ssmState: tf.keep(r.cache!.ssmState) };
        } else if (inputs.cache) {
          const r = this.mamba.stepPreProjection(tf.squeeze(u, [1]), inputs.cache.mamba!);
          m = tf.expandDims(r.y, 1);
          next.mamba = { convState: tf.keep(r.cache.convState), ssmState: tf.keep(r.cache.ssmState) };
        } else if (rec === 'mamba' || rec === 'both') {
          const mixer = this.mamba;
          m = recomputed((t, [mask]) => mixer.forwardPreProjection(t, { attentionMask: mask, core: inputs.mambaCore }).y, u, Object.values(mixer.parameters()), [inputs.mask]);
        } else {
          const r = this.mamba.forwardPreProjection(u, { attentionMask: inputs.mask, returnCache: inputs.cacheCapacity !== undefined, core: inputs.mambaCore });
          m = r.y;
          if (r.cache) next.mamba = { convState: tf.keep(r.cache.convState), ssmState: tf.keep(r.cache.ssmState) };
        }
        parts.push(tf.mul(m, b.ssm_out_multiplier));
      }
      if (next.kv || next.mamba) cache = next;
      return this.projectAndMlp(x, parts.length === 1 ? parts[0] : tf.concat(parts, -1));
    });
    return { y, cache };
  }

  /**
   * The layer's tail, shared by the forward and the decode step: the fused output projection of the
   * mixed heads (plus the branches' biases), the residual, the MLP and its residual.
   * @param x - the layer input `[..., d]`
   * @param mixed - the scaled attention | Mamba-2 head outputs `[..., heads·dims]`
   * @returns `[..., d]`
   */
  private projectAndMlp(x: Tensor, mixed: Tensor): Tensor {
    const b = this.config.base;
    let h = linear(mixed, this.weight(this.own[FUSED]), undefined, this.config.bitnet.outProj);
    const ob = this.own['self_attn.o_proj.bias'];
    const mb = this.own['mamba.out_proj.bias'];
    if (ob) h = tf.add(h, tf.mul(ob, b.attention_out_multiplier));
    if (mb) h = tf.add(h, tf.mul(mb, b.ssm_out_multiplier));
    const x1 = tf.add(x, h);
    const ff = mlp(rmsNorm(x1, this.own['pre_ff_layernorm.weight'], b.rms_norm_eps), this.ffParams(), b.mlp_multipliers, this.config.bitnet.mlp, this.gateUpScale());
    return tf.add(x1, ff);
  }

  /**
   * The decode step with one token per sequence kept 2-D (`[batch, d]`: no reshapes, each a kernel
   * dispatch), the μP output multipliers applied as one product after the concat (the same values),
   * multipliers of exactly 1 skipped. Same results as the 3-D path.
   */
  private stepFlat(x: Tensor, positions: Tensor, cache: LayerCache): { y: Tensor; cache: LayerCache } {
    const b = this.config.base;
    const scaled = (t: Tensor, m: number) => (m === 1 ? t : tf.mul(t, m));
    const next: LayerCache = {};
    const y = tf.tidy(() => {
      const u = rmsNorm(x, this.own['input_layernorm.weight'], b.rms_norm_eps);
      const parts: Tensor[] = [];
      if (this.attention) {
        parts.push(this.attention.stepPreProjection(scaled(u, b.attention_in_multiplier) as Tensor2D, cache.kv!, { positions }));
        next.kv = cache.kv;
      }
      if (this.mamba) {
        const r = this.mamba.stepPreProjection(u, cache.mamba!);
        parts.push(r.y);
        next.mamba = { convState: tf.keep(r.cache.convState), ssmState: tf.keep(r.cache.ssmState) };
      }
      const mixed = parts.length === 1 ? scaled(parts[0], this.attention ? b.attention_out_multiplier : b.ssm_out_multiplier) : this.scaleMixers(tf.concat(parts, -1));
      return this.projectAndMlp(x, mixed);
    });
    return { y, cache: next };
  }

  /** `[a, m]` `[tokens, attnWidth + dSsm]` × `[α_attn_out…, α_ssm_out…]` (one kernel; the vector is made with the layer). */
  private scaleMixers(t: Tensor): Tensor {
    const b = this.config.base;
    const [ka, km] = [b.attention_out_multiplier, b.ssm_out_multiplier];
    if (ka === km) return ka === 1 ? t : tf.mul(t, ka);
    return tf.mul(t, this.mixerScale!);
  }

  private gateUpScale(): Tensor | undefined {
    const gate = this.packed.get(this.own['feed_forward.gate_proj.weight']);
    return gate ? this.groupScale.get(gate) : undefined;
  }

  private ffParams(): MlpParams {
    const out: MlpParams = {};
    for (const [k, p] of Object.entries(this.own)) if (k.startsWith('feed_forward.')) out[k.slice(13)] = this.weight(p);
    return out;
  }

  /** The packed weights after {@link ParallelHybridLayer.packTernary}, by internal name (`fused_out_proj.weight`, `self_attn.q_proj.weight`, …); empty before. */
  packedWeights(): Record<string, PackedBitLinear> {
    const out: Record<string, PackedBitLinear> = {};
    for (const [k, v] of Object.entries(this.allVariables())) {
      const p = this.packed.get(v);
      if (p) out[k] = p;
    }
    return out;
  }

  /** A weight as the products read it: its packed form once packed, else the float tensor itself. */
  private weight(w: Tensor): LinearWeight {
    return this.packed.get(w) ?? w;
  }

  /**
   * Convert the layer for inference: every weight its config makes BitNet (attention's q/k/v,
   * Mamba-2's in_proj, the fused output projection, the MLP's gate/up/down) is replaced by its
   * packed 2-bit form with the whole matrix's weight scale, and its float variable is freed. The
   * forward then runs those products as int8 activations × packed ternary weights.
   * @returns the names (relative to `model.layers.{i}.`) of the packed weights
   * @throws if the layer is already packed
   */
  async packTernary(): Promise<string[]> {
    if (this.isPacked) throw new Error(`layer ${this.index}: packTernary: the layer is already packed`);
    const vars = this.allVariables();
    const names = bitnetWeightNames(this.config.bitnet, { attention: !!this.attention, mamba: !!this.mamba });
    const packed = new Map<Tensor, PackedBitLinear>();
    try {
      for (const name of names) packed.set(vars[name], await packTernaryWeight(vars[name]));
    } catch (e) {
      for (const p of packed.values()) p.dispose();
      throw e;
    }
    // all packed: now the float weights go (the mixers keep the disposed variables, which their projection never reads)
    for (const [v, p] of packed) {
      this.packed.set(v, p);
      v.dispose();
    }
    this.makeGroupScales();
    return names;
  }

  /** Free the layer's variables (and packed weights) and its mixers' constants. */
  dispose(): void {
    for (const p of this.packed.values()) p.dispose();
    for (const p of Object.values(this.own)) p.dispose();
    this.mixerScale?.dispose();
    for (const t of this.groupScale.values()) t.dispose();
    this.attention?.dispose(); // its variables and constants (ALiBi slopes)
    this.mamba?.dispose(); // its variables and constants (the μP multiplier vector)
  }
}
