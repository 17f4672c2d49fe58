/**
 * `Mamba2Mixer`: the Mamba-2 half of a Falcon-H1 layer as a module that owns its parameters
 * (named as transformers names them) and runs in_proj (with the μP multiplier vector), the causal
 * conv, the SSD scan, the gated RMSNorm (or a SiLU gate) and out_proj — over a whole sequence
 * (training, prefill) or one token at a time from a cache (decoding).
 */
import { init, isRecordingGradients, tf, variableFrom } from '@falcon/tensor';
import type { OpCheck, Tensor, Tensor3D, Tensor4D, Variable } from '@falcon/tensor';
import { causalConv1d } from './causal_conv1d.js';
import { gatedRmsNorm } from './gated_rms_norm.js';
import { selectiveStateUpdate } from './selective_state_update.js';
import { DEFAULT_CHUNK_SIZE, ssdChunkScan } from './ssd_chunk_scan.js';
import { checkDtLimit } from './time_step.js';
import { check } from './validate.js';

/**
 * Construction options, from plain numbers (the transformers `FalconH1Config` name of each is
 * given in its description).
 */
export interface Mamba2MixerOptions {
  /** Model width d (`hidden_size`). */
  dModel: number;
  /** Mamba heads h (`mamba_n_heads`). */
  nHeads: number;
  /** Mamba head dim p (`mamba_d_head`). */
  headDim: number;
  /** Groups g of B and C (`mamba_n_groups`, default 1); nHeads must be divisible by it. */
  nGroups?: number;
  /** State size n (`mamba_d_state`). */
  dState: number;
  /** Conv kernel size k (`mamba_d_conv`, default 4). */
  dConv?: number;
  /** SSD chunk length Q (`mamba_chunk_size`, default 256). */
  chunkSize?: number;
  /** Width of the SSM branch d_ssm (`mamba_d_ssm`); default `expand·dModel` when expand is given, else nHeads·headDim. Must equal nHeads·headDim. */
  dSsm?: number;
  /** `mamba_expand`, used for d_ssm when dSsm is not given. */
  expand?: number;
  /** Epsilon of the gated RMSNorm (`rms_norm_eps`, default 1e-5). */
  rmsNormEps?: number;
  /** Use the gated RMSNorm (`mamba_rms_norm`, default false: `y·silu(z)` instead). */
  rmsNorm?: boolean;
  /** Norm before the gate (`mamba_norm_before_gate`, default true). */
  normBeforeGate?: boolean;
  /** μP multipliers of the z, x, B, C, dt segments of in_proj's output (`ssm_multipliers`, default all 1). */
  ssmMultipliers?: readonly [number, number, number, number, number];
  /** Multiplier of the mixer input (`ssm_in_multiplier`, default 1). */
  ssmInMultiplier?: number;
  /** Clamp of Δ (`time_step_limit`, default `[0, Infinity]`: no clamp). */
  timeStepLimit?: readonly [number, number];
  /** Bias on in_proj (`mamba_proj_bias`, default false). */
  projBias?: boolean;
  /** Bias on the conv (`mamba_conv_bias`, default true). */
  convBias?: boolean;
  /** Bias on out_proj (`projectors_bias`, default false). */
  outProjBias?: boolean;
  /** Create out_proj (default true); false for layers that fuse it with another projection (use the `…PreProjection` methods). */
  outputProjection?: boolean;
  /** Std of the normal initialisation of in_proj, conv1d and out_proj weights (`initializer_range`, default 0.02). */
  initializerRange?: number;
  /** Seed of the initialisation (default 0). */
  seed?: number;
  /**
   * How in_proj and out_proj multiply `x [tokens, in]` by a weight `[out, in]` (default `x @ Wᵀ`);
   * e.g. a BitNet b1.58 product of quantised activations and ternary weights.
   */
  projection?: (x: Tensor, weight: Tensor) => Tensor;
  /** Prefix of the tf.Variable names (they must be unique in tfjs; default `mamba2_mixer_<n>/`). */
  name?: string;
}

/** The recurrent state of the mixer between calls. */
export interface Mamba2Cache {
  /** The last dConv − 1 inputs of the conv, `[batch, d_conv − 1, conv_dim]` (conv_dim = d_ssm + 2·ngroups·dstate). */
  convState: Tensor;
  /** The SSM state `[batch, nheads, headdim, dstate]`. */
  ssmState: Tensor;
}

/** Options of {@link Mamba2Mixer.forward}. */
export interface Mamba2ForwardOptions {
  /** `[batch, seqlen]`, 1 keep / 0 pad: zeroes the mixer input and the conv output at padded positions. */
  attentionMask?: Tensor;
  /** Continue from this cache (a previous piece of the same sequences) instead of zeros. */
  cache?: Mamba2Cache;
  /** Return the cache after the last position (prefill; default false). */
  returnCache?: boolean;
  /** Packed sequences: int32 `[batch, seqlen]` sequence ids; neither the conv nor the state crosses a change of id. */
  seqIdx?: Tensor;
  /**
   * Replaces the conv + SSD core (context parallelism): receives the conv input
   * `xBC [batch, seqlen, conv_dim]`, the raw `dt [batch, seqlen, nheads]` and the mixer, returns
   * the SSD output `[batch, seqlen, nheads, headdim]` (D·x included, before the gate).
   */
  core?: (xBC: Tensor, dt: Tensor, mixer: Mamba2Mixer) => Tensor;
}

/** Result of {@link Mamba2Mixer.forward} and {@link Mamba2Mixer.step}. */
export interface Mamba2Output {
  /** `[batch, seqlen, d_model]` (or `[batch, d_model]` from a rank-2 step input). */
  output: Tensor;
  /** The cache after the last position (always from step; from forward when asked). */
  cache?: Mamba2Cache;
}

/** Result of {@link Mamba2Mixer.forwardPreProjection} and {@link Mamba2Mixer.stepPreProjection}. */
export interface Mamba2PreProjection {
  /** The gated (and normed) SSM output before out_proj, `[batch, seqlen, d_ssm]` (or `[batch, d_ssm]`). */
  y: Tensor;
  /** The cache after the last position (always from step; from forward when asked). */
  cache?: Mamba2Cache;
}

let mixerCount = 0;

/**
 * The Mamba-2 mixer of Falcon-H1 (transformers' `FalconH1Mixer`):
 * `zxbcdt = (u·ssm_in_multiplier) @ in_projᵀ · mup`, split into z, xBC, dt; `xBC = silu(conv(xBC))`;
 * split into x, B, C; `y = SSD(x, dt, −exp(A_log), B, C, D, dt_bias, softplus, time_step_limit)`;
 * `y = GatedRMSNorm(y, z)` (or `y·silu(z)`); `out = y @ out_projᵀ`.
 *
 * Parameters (tf.Variable, trainable), named as transformers: `in_proj.weight`
 * `[d_ssm + conv_dim + nheads, d_model]`, `in_proj.bias` (projBias), `conv1d.weight`
 * `[conv_dim, 1, d_conv]`, `conv1d.bias` (convBias), `dt_bias`, `A_log`, `D` `[nheads]`,
 * `norm.weight` `[d_ssm]` (rmsNorm), `out_proj.weight` `[d_model, d_ssm]`, `out_proj.bias` (outProjBias).
 */
export class Mamba2Mixer {
  /** d_model. */
  readonly dModel: number;
  /** nheads. */
  readonly nHeads: number;
  /** headdim. */
  readonly headDim: number;
  /** ngroups. */
  readonly nGroups: number;
  /** dstate. */
  readonly dState: number;
  /** d_conv. */
  readonly dConv: number;
  /** SSD chunk length. */
  readonly chunkSize: number;
  /** d_ssm = nheads·headdim. */
  readonly dSsm: number;
  /** conv_dim = d_ssm + 2·ngroups·dstate. */
  readonly convDim: number;
  /** Width of in_proj's output: d_ssm + conv_dim + nheads. */
  readonly projSize: number;
  /** Whether the gated RMSNorm is used. */
  readonly rmsNorm: boolean;
  /** Norm before the gate. */
  readonly normBeforeGate: boolean;
  /** Epsilon of the gated RMSNorm. */
  readonly rmsNormEps: number;
  /** The mixer input multiplier. */
  readonly ssmInMultiplier: number;
  /** The five segment multipliers of in_proj's output. */
  readonly ssmMultipliers: readonly [number, number, number, number, number];
  /** The Δ clamp. */
  readonly timeStepLimit: readonly [number, number];

  private readonly params: Record<string, Variable>;
  private readonly mup: Tensor | undefined;
  /** Tensors derived from a parameter, kept across decode steps (see {@link Mamba2Mixer.stepConstant}). */
  private readonly stepConstants = new Map<string, { data: object; t: Tensor }>();
  private readonly project: (x: Tensor, weight: Tensor) => Tensor;

  /** @param options - sizes, multipliers, biases and initialisation (see {@link Mamba2MixerOptions}) */
  constructor(options: Mamba2MixerOptions) {
    const where = 'Mamba2Mixer';
    const c = check(where);
    const o = options;
    this.project = o.projection ?? ((x, w) => tf.matMul(x, w, false, true));
    for (const k of ['dModel', 'nHeads', 'headDim', 'dState'] as const) c.option(k).positiveInt(o[k]);
    this.dModel = o.dModel;
    this.nHeads = o.nHeads;
    this.headDim = o.headDim;
    this.dState = o.dState;
    this.nGroups = o.nGroups ?? 1;
    this.dConv = o.dConv ?? 4;
    this.chunkSize = o.chunkSize ?? DEFAULT_CHUNK_SIZE;
    c.option('nGroups').positiveInt(this.nGroups);
    c.option('dConv').positiveInt(this.dConv);
    c.option('chunkSize').positiveInt(this.chunkSize);
    c.require(this.dConv >= 2, () => `dConv must be at least 2, got ${this.dConv}`);
    c.require(this.nHeads % this.nGroups === 0, () => `nHeads (${this.nHeads}) must be divisible by nGroups (${this.nGroups})`);
    this.dSsm = o.dSsm ?? (o.expand !== undefined ? Math.round(o.expand * o.dModel) : o.nHeads * o.headDim);
    c.require(this.dSsm === this.nHeads * this.headDim, () => `d_ssm (${this.dSsm}) must equal nHeads·headDim (${this.nHeads}·${this.headDim} = ${this.nHeads * this.headDim})`);
    this.convDim = this.dSsm + 2 * this.nGroups * this.dState;
    this.projSize = this.dSsm + this.convDim + this.nHeads;
    this.rmsNorm = o.rmsNorm ?? false;
    this.normBeforeGate = o.normBeforeGate ?? true;
    this.rmsNormEps = o.rmsNormEps ?? 1e-5;
    this.ssmInMultiplier = o.ssmInMultiplier ?? 1;
    this.ssmMultipliers = o.ssmMultipliers ?? [1, 1, 1, 1, 1];
    c.require(this.ssmMultipliers.length === 5, () => `ssmMultipliers must have 5 entries (z, x, B, C, dt), got ${this.ssmMultipliers.length}`);
    this.timeStepLimit = o.timeStepLimit ?? [0, Infinity];
    checkDtLimit(where, this.timeStepLimit[0], this.timeStepLimit[1]);

    const prefix = o.name ?? `mamba2_mixer_${mixerCount++}/`;
    const std = o.initializerRange ?? 0.02;
    const seed = o.seed ?? 0;
    const h = this.nHeads;
    const initial: Record<string, Tensor> = {
      'in_proj.weight': init.normal([this.projSize, this.dModel], { seed, std }),
      ...(o.projBias ? { 'in_proj.bias': init.zeros([this.projSize]) } : {}),
      'conv1d.weight': init.normal([this.convDim, 1, this.dConv], { seed: seed + 1, std }),
      ...((o.convBias ?? true) ? { 'conv1d.bias': init.zeros([this.convDim]) } : {}),
      dt_bias: init.ones([h]),
      A_log: tf.tensor1d(Array.from({ length: h }, (_, i) => Math.log(i + 1))),
      D: init.ones([h]),
      ...(this.rmsNorm ? { 'norm.weight': init.ones([this.dSsm]) } : {}),
      ...((o.outputProjection ?? true)
        ? {
            'out_proj.weight': init.normal([this.dModel, this.dSsm], { seed: seed + 2, std }),
            ...(o.outProjBias ? { 'out_proj.bias': init.zeros([this.dModel]) } : {}),
          }
        : {}),
    };
    this.params = {};
    for (const [k, t] of Object.entries(initial)) {
      this.params[k] = variableFrom(t, true, `${prefix}${k}`);
    }
    const m = this.ssmMultipliers;
    if (m.some((v) => v !== 1)) {
      const gn = this.nGroups * this.dState;
      const ends = [this.dSsm, 2 * this.dSsm, 2 * this.dSsm + gn, 2 * this.dSsm + 2 * gn, this.projSize];
      const v = new Float32Array(this.projSize);
      let seg = 0;
      for (let i = 0; i < v.length; i++) {
        while (i >= ends[seg]) seg++;
        v[i] = m[seg];
      }
      this.mup = tf.keep(tf.tensor1d(v));
    }
    // made now, so that a decode step after an assign replaces them instead of adding tensors
    this.stepConstant('conv1d.weight', () => this.convWeight());
    this.stepConstant('A_log', () => this.A());
  }

  /**
   * The parameters, keyed by their transformers names (see the class description).
   * @returns the live variables (an optimizer may update them in place)
   */
  parameters(): Record<string, Variable> {
    return { ...this.params };
  }

  /** The expected shape of every parameter, keyed by name. */
  parameterShapes(): Record<string, number[]> {
    return Object.fromEntries(Object.entries(this.params).map(([k, v]) => [k, [...v.shape]]));
  }

  /**
   * Assign parameter values from checkpoint tensors keyed by the transformers names (without the
   * `model.layers.{i}.mamba.` prefix). Every name and shape is checked before anything is assigned.
   * @param tensors - name → tensor (float32, or any float dtype, cast to float32)
   * @param options - strict (default true): every parameter must be given and no other name
   * @throws Error naming the parameter on a missing, unknown or misshapen tensor
   */
  loadWeights(tensors: Record<string, Tensor>, options: { strict?: boolean } = {}): void {
    const strict = options.strict ?? true;
    const c = check('Mamba2Mixer.loadWeights');
    for (const [k, t] of Object.entries(tensors)) {
      const v = this.params[k];
      if (!v) {
        if (strict) c.fail(`unknown parameter '${k}' (expected: ${Object.keys(this.params).join(', ')})`);
        continue;
      }
      c.require(tf.util.arraysEqual(t.shape, v.shape), () => `parameter '${k}' has shape ${c.shape(t.shape)}, expected ${c.shape(v.shape)}`);
      c.require(t.dtype === 'float32', () => `parameter '${k}' must be float32, got ${t.dtype}`);
    }
    if (strict) {
      const missing = Object.keys(this.params).filter((k) => !(k in tensors));
      c.require(missing.length === 0, () => `missing parameter(s): ${missing.join(', ')}`);
    }
    for (const [k, t] of Object.entries(tensors)) this.params[k]?.assign(t);
  }

  /**
   * A zero cache for `batch` sequences.
   * @returns convState `[batch, d_conv − 1, conv_dim]` and ssmState `[batch, nheads, headdim, dstate]` of zeros
   */
  emptyCache(batch: number): Mamba2Cache {
    return {
      convState: tf.zeros([batch, this.dConv - 1, this.convDim]) as Tensor3D,
      ssmState: tf.zeros([batch, this.nHeads, this.headDim, this.dState]) as Tensor4D,
    };
  }

  /**
   * The mixer over a whole sequence (training and prefill).
   * @param u - `[batch, seqlen, d_model]` (the layer's normed hidden states)
   * @param options - attentionMask `[batch, seqlen]`, cache to continue from, returnCache, seqIdx
   * @returns output `[batch, seqlen, d_model]` and, when asked, the cache after the last position
   */
  forward(u: Tensor, options: Mamba2ForwardOptions = {}): Mamba2Output {
    const { y, cache } = this.forwardPreProjection(u, options);
    return { output: this.outProj(y), ...(cache ? { cache } : {}) };
  }

  /**
   * The mixer without its out_proj (for a layer that fuses out_proj with attention's o_proj).
   * @param u - `[batch, seqlen, d_model]`
   * @param options - as {@link Mamba2Mixer.forward}
   * @returns y `[batch, seqlen, d_ssm]` (gated and normed) and, when asked, the cache
   */
  forwardPreProjection(u: Tensor, options: Mamba2ForwardOptions = {}): Mamba2PreProjection {
    const c = check('Mamba2Mixer.forward');
    const [b, l] = c.arg('u').tensor(u, { dims: ['batch', 'seqlen', 'd_model'], shape: [undefined, undefined, this.dModel] });
    const { attentionMask, cache, seqIdx, returnCache = false } = options;
    c.arg('attentionMask').tensor(attentionMask, { dims: ['batch', 'seqlen'], shape: [b, l], dtype: ['float32', 'int32', 'bool'], optional: true });
    if (cache) this.checkCache(c, cache, b);
    return this.tidyKeep(() => {
      const mask = attentionMask && tf.expandDims(tf.cast(attentionMask, 'float32'), 2);
      const hs = mask ? tf.mul(u, mask) : u;
      const zxbcdt = this.inProj(hs);
      const [z, xBC, dt] = tf.split(zxbcdt, [this.dSsm, this.convDim, this.nHeads], -1);
      if (options.core) return { y: this.gate(tf.reshape(options.core(xBC, dt, this), [b, l, this.dSsm]), z) };
      const conv = causalConv1d(xBC, this.convWeight(), {
        bias: this.params['conv1d.bias'],
        silu: true,
        initialState: cache?.convState,
        returnFinalState: returnCache,
        seqIdx,
      });
      const xbc = mask ? tf.mul(conv.y, mask) : conv.y;
      const [x, B, C] = tf.split(xbc, [this.dSsm, this.nGroups * this.dState, this.nGroups * this.dState], -1);
      const ssd = ssdChunkScan(
        tf.reshape(x, [b, l, this.nHeads, this.headDim]),
        dt,
        this.A(),
        tf.reshape(B, [b, l, this.nGroups, this.dState]),
        tf.reshape(C, [b, l, this.nGroups, this.dState]),
        {
          D: this.params.D,
          dtBias: this.params.dt_bias,
          dtSoftplus: true,
          dtLimit: this.timeStepLimit,
          chunkSize: this.chunkSize,
          initialStates: cache?.ssmState,
          returnFinalStates: returnCache,
          seqIdx,
        },
      );
      const y = this.gate(tf.reshape(ssd.y, [b, l, this.dSsm]), z);
      return { y, ...(returnCache ? { cache: { convState: conv.finalState!, ssmState: ssd.finalStates! } } : {}) };
    });
  }

  /**
   * One decoding step from a cache (the input cache is left as it was).
   * @param u - `[batch, d_model]` or `[batch, 1, d_model]`
   * @param cache - the cache after the previous position
   * @returns output `[batch, d_model]` (or `[batch, 1, d_model]`, as u) and the new cache
   */
  step(u: Tensor, cache: Mamba2Cache): Required<Mamba2Output> {
    const { y, cache: next } = this.stepPreProjection(u, cache);
    return { output: this.outProj(y), cache: next };
  }

  /**
   * One decoding step without out_proj.
   * @param u - `[batch, d_model]` or `[batch, 1, d_model]`
   * @param cache - the cache after the previous position
   * @returns y `[batch, d_ssm]` (or `[batch, 1, d_ssm]`, as u) and the new cache
   */
  stepPreProjection(u: Tensor, cache: Mamba2Cache): Required<Mamba2PreProjection> {
    const c = check('Mamba2Mixer.step');
    const rank3 = u.rank === 3;
    if (rank3) c.arg('u').tensor(u, { dims: ['batch', '1', 'd_model'], shape: [undefined, 1, this.dModel] });
    else c.arg('u').tensor(u, { dims: ['batch', 'd_model'], shape: [undefined, this.dModel] });
    const b = u.shape[0] as number;
    c.require(!!cache, 'a cache is required (from forward with returnCache, or emptyCache)');
    this.checkCache(c, cache, b);
    return this.tidyKeep(() => {
      const zxbcdt = this.inProj(rank3 ? tf.reshape(u, [b, this.dModel]) : u);
      const [z, xBC, dt] = tf.split(zxbcdt, [this.dSsm, this.convDim, this.nHeads], -1);
      const conv = causalConv1d(tf.expandDims(xBC, 1), this.stepConstant('conv1d.weight', () => this.convWeight()), {
        bias: this.params['conv1d.bias'],
        silu: true,
        initialState: cache.convState,
        returnFinalState: true,
      });
      // split conv.y [b, 1, conv_dim] as it is: each piece is reshaped into its heads anyway
      const [x, B, C] = tf.split(conv.y, [this.dSsm, this.nGroups * this.dState, this.nGroups * this.dState], -1);
      const r = selectiveStateUpdate(
        cache.ssmState,
        tf.reshape(x, [b, this.nHeads, this.headDim]),
        dt,
        this.stepConstant('A_log', () => this.A()),
        tf.reshape(B, [b, this.nGroups, this.dState]),
        tf.reshape(C, [b, this.nGroups, this.dState]),
        { D: this.params.D, dtBias: this.params.dt_bias, dtSoftplus: true, dtLimit: this.timeStepLimit },
      );
      const y = this.gate(tf.reshape(r.y, [b, this.dSsm]), z);
      return { y: rank3 ? tf.expandDims(y, 1) : y, cache: { convState: conv.finalState!, ssmState: r.state } };
    });
  }

  /** Dispose the parameters. */
  dispose(): void {
    for (const v of Object.values(this.params)) v.dispose();
    this.mup?.dispose();
    for (const { t } of this.stepConstants.values()) t.dispose();
    this.stepConstants.clear();
  }

  private checkCache(c: OpCheck, cache: Mamba2Cache, b: number): void {
    c.arg('cache.convState').tensor(cache.convState, { dims: ['batch', 'd_conv - 1', 'conv_dim'], shape: [b, this.dConv - 1, this.convDim] });
    c.arg('cache.ssmState').tensor(cache.ssmState, { dims: ['batch', 'nheads', 'headdim', 'dstate'], shape: [b, this.nHeads, this.headDim, this.dState] });
  }

  /** Run fn in a tidy; the tensors it returns (nested in objects) move to the caller's scope. */
  private tidyKeep<T>(fn: () => T): T {
    return tf.tidy(() => fn() as unknown as tf.TensorContainer) as unknown as T;
  }

  private inProj(u: Tensor): Tensor {
    const shape = u.shape as number[];
    const flat = u.rank === 2; // [tokens, d_model]: no reshapes (each is a kernel of the decode step)
    let x = this.ssmInMultiplier !== 1 ? tf.mul(u, this.ssmInMultiplier) : u;
    x = this.project(flat ? x : tf.reshape(x, [-1, this.dModel]), this.params['in_proj.weight']);
    if (this.params['in_proj.bias']) x = tf.add(x, this.params['in_proj.bias']);
    if (this.mup) x = tf.mul(x, this.mup);
    return flat ? x : tf.reshape(x, [...shape.slice(0, -1), this.projSize]);
  }

  private outProj(y: Tensor): Tensor {
    if (!this.params['out_proj.weight']) check('Mamba2Mixer').fail('this mixer was built with outputProjection: false; use forwardPreProjection / stepPreProjection');
    return tf.tidy(() => {
      const shape = y.shape as number[];
      let o = this.project(tf.reshape(y, [-1, this.dSsm]), this.params['out_proj.weight']);
      if (this.params['out_proj.bias']) o = tf.add(o, this.params['out_proj.bias']);
      return tf.reshape(o, [...shape.slice(0, -1), this.dModel]);
    });
  }

  /**
   * A tensor computed from one parameter (the conv weight `[conv_dim, d_conv]`, A = −exp(A_log)),
   * kept between decode steps: recomputed when the parameter's data changes (`assign` gives a
   * variable new data), and not kept while a gradient is being recorded (the tape needs the ops).
   * Saves the step its kernels (issue 17). Made at construction (two tensors the mixer holds until
   * disposed; the reshaped conv weight shares the variable's data, until an assign replaces it).
   */
  private stepConstant(param: string, make: () => Tensor): Tensor {
    if (isRecordingGradients()) return make();
    const data = (this.params[param] as unknown as { dataId: object }).dataId;
    const hit = this.stepConstants.get(param);
    if (hit && hit.data === data && !hit.t.isDisposed) return hit.t;
    hit?.t.dispose();
    const t = tf.keep(tf.tidy(make));
    this.stepConstants.set(param, { data, t });
    return t;
  }

  private convWeight(): Tensor {
    return tf.reshape(this.params['conv1d.weight'], [this.convDim, this.dConv]);
  }

  private A(): Tensor {
    return tf.neg(tf.exp(this.params.A_log));
  }

  private gate(y: Tensor, z: Tensor): Tensor {
    if (this.rmsNorm) {
      return gatedRmsNorm(y, this.params['norm.weight'], { z, eps: this.rmsNormEps, ngroups: this.nGroups, normBeforeGate: this.normBeforeGate });
    }
    return tf.mul(y, tf.mul(z, tf.sigmoid(z)));
  }
}
