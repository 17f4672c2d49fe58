/**
 * `Attention`: the attention block of a Falcon-H1 layer (usable on its own): q/k/v/o projections
 * named as transformers names them, grouped-query heads, RoPE (or ALiBi), the Falcon-H1
 * `key_multiplier`, `forward` over a sequence (prefill can return a KV cache) and `step` for
 * decoding. The `…PreProjection` methods stop before `o_proj`, for layers that fuse it.
 */
import { init, tf, variableFrom } from '@falcon/tensor';
import type { OpCheck, Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from '@falcon/tensor';
import { alibiSlopes } from './alibi_slopes.js';
import { applyRope } from './apply_rope.js';
import { decodeAttention } from './decode_attention.js';
import { flashAttention } from './flash_attention.js';
import { KVCache } from './kv_cache.js';
import type { RopeFrequencies, RopeParameters } from './rope_frequencies.js';
import { ropeFrequencies } from './rope_frequencies.js';
import { check, checkTensor } from './validate.js';

/** Construction parameters of {@link Attention}, as plain numbers (a transformers config maps onto them). */
export interface AttentionConfig {
  /** Model width `d` (`hidden_size`). */
  hiddenSize: number;
  /** Query heads `H` (`num_attention_heads`). */
  numHeads: number;
  /** Key/value heads `Hkv` (`num_key_value_heads`); must divide numHeads. */
  numKvHeads: number;
  /** Head dim `hd` (`head_dim`; default hiddenSize / numHeads). */
  headDim?: number;
  /** `rope_parameters` (default `{ rope_type: 'default', rope_theta: 10000 }`); null for no RoPE. */
  rope?: RopeParameters | null;
  /** `max_position_embeddings` (used by dynamic and yarn RoPE). */
  maxPositionEmbeddings?: number;
  /** Falcon-H1 `key_multiplier`: keys are multiplied by it after k_proj (default 1). */
  keyMultiplier?: number;
  /** `attention_bias`: q/k/v/o projections have biases (default false). */
  attentionBias?: boolean;
  /** Create `o_proj` (default true); false for layers that fuse the output projection. */
  outputProjection?: boolean;
  /** Add the ALiBi bias of {@link alibiSlopes} (default false). */
  alibi?: boolean;
  /** Sliding window: each query sees at most this many keys, itself included (transformers' `sliding_window`). */
  slidingWindow?: number;
  /** Softmax scale (default `headDim^−0.5`). */
  softmaxScale?: number;
  /** Standard deviation of the normal initialisation of the weights (`initializer_range`, default 0.02); biases start at 0. */
  initializerRange?: number;
  /** Seed of the initialisation (default 0). */
  seed?: number;
  /**
   * How the projections multiply `x [tokens, in]` by a weight `[out, in]` (default `x @ Wᵀ`); e.g. a
   * BitNet b1.58 product of quantised activations and ternary weights.
   */
  projection?: (x: Tensor, weight: Tensor) => Tensor;
  /**
   * q, k and v of `x [tokens, in]` at once, from their weights `[out_i, in]` (default: `projection`
   * of each); lets a projection share work done on the input (e.g. one activation quantisation).
   */
  projections?: (x: Tensor, weights: Tensor[]) => Tensor[];
}

/** Options of {@link Attention.forward}. */
export interface AttentionForwardOptions {
  /** int32 positions for RoPE `[batch, seqlen]` or `[seqlen]` (default 0 … seqlen−1). */
  positions?: Tensor;
  /** Key padding mask `[batch, seqlen]`, 1 keep / 0 masked (left-padded batches). */
  keyPaddingMask?: Tensor;
  /** Packed sequences: int32 cumulative lengths `[nSeqs + 1]` (positions should restart per sequence). */
  cuSeqlens?: Tensor;
  /** Causal (default true). */
  causal?: boolean;
  /** Prefill: return a {@link KVCache} of this capacity holding the sequence's keys and values. */
  cacheCapacity?: number;
  /**
   * Computes the attention from the projected, rotated heads instead of the local flash attention
   * (context parallelism's ring attention): q `[batch, seqlen, nHeads, headDim]`, k and v
   * `[batch, seqlen, nKvHeads, headDim]` → `[batch, seqlen, nHeads, headDim]`.
   */
  attend?: (q: Tensor, k: Tensor, v: Tensor) => Tensor;
}

/** Options of {@link Attention.step}. */
export interface AttentionStepOptions {
  /** int32 positions of the new tokens `[batch, newTokens]` or `[newTokens]` (default cache.length …). */
  positions?: Tensor;
  /** Key padding mask of the new tokens `[batch, newTokens]`. */
  keyPaddingMask?: Tensor;
}

/** What {@link Attention.forward} returns. */
export interface AttentionOutput {
  /** `[batch, seqlen, hiddenSize]` (or `[batch, seqlen, nHeads·headDim]` before o_proj). */
  output: Tensor3D;
  /** The KV cache, when `cacheCapacity` was given. */
  cache?: KVCache;
}

const FN = 'Attention';

/**
 * Grouped-query attention with RoPE as in Falcon-H1's `self_attn`: `q = q_proj(u)`,
 * `k = k_proj(u)·key_multiplier`, `v = v_proj(u)`, RoPE on q and k, causal flash attention, then
 * `o_proj`. Parameters are `tf.Variable`s named `q_proj.weight` `[H·hd, d]`, `k_proj.weight` and
 * `v_proj.weight` `[Hkv·hd, d]`, `o_proj.weight` `[d, H·hd]` (and `.bias` with attentionBias).
 */
export class Attention {
  /** `hiddenSize` */
  readonly hiddenSize: number;
  /** `nHeads` */
  readonly numHeads: number;
  /** `nKvHeads` */
  readonly numKvHeads: number;
  /** `headDim` */
  readonly headDim: number;
  /** Key multiplier. */
  readonly keyMultiplier: number;
  /** Softmax scale. */
  readonly softmaxScale: number;
  private readonly rope: RopeParameters | null;
  private readonly maxPositions?: number;
  private readonly ropeFreqs?: RopeFrequencies;
  private readonly slopes?: Tensor1D;
  private readonly windowLeft: number;
  private readonly params: Record<string, Variable> = {};
  private readonly matmul: (x: Tensor, weight: Tensor) => Tensor;
  private readonly matmuls: (x: Tensor, weights: Tensor[]) => Tensor[];

  /** Build the block with freshly initialised parameters. */
  constructor(config: AttentionConfig) {
    const { hiddenSize, numHeads, numKvHeads } = config;
    this.matmul = config.projection ?? ((x, w) => tf.matMul(x, w, false, true));
    this.matmuls = config.projections ?? ((x, ws) => ws.map((w) => this.matmul(x, w)));
    check(FN).attr('hiddenSize').int(hiddenSize, { min: 1 });
    check(FN).attr('numHeads').int(numHeads, { min: 1 });
    check(FN).attr('numKvHeads').int(numKvHeads, { min: 1 });
    if (numHeads % numKvHeads !== 0) check(FN).fail(`numHeads ${numHeads} is not a multiple of numKvHeads ${numKvHeads}`);
    const headDim = config.headDim ?? hiddenSize / numHeads;
    if (!Number.isInteger(headDim) || headDim < 1) check(FN).fail(`headDim must be a positive integer (hiddenSize ${hiddenSize} / numHeads ${numHeads} = ${headDim}); give headDim explicitly`);
    if (config.slidingWindow !== undefined) check(FN).attr('slidingWindow').int(config.slidingWindow, { min: 1 });
    this.hiddenSize = hiddenSize;
    this.numHeads = numHeads;
    this.numKvHeads = numKvHeads;
    this.headDim = headDim;
    this.keyMultiplier = config.keyMultiplier ?? 1;
    this.softmaxScale = config.softmaxScale ?? headDim ** -0.5;
    this.rope = config.rope === undefined ? { rope_type: 'default', rope_theta: 10000 } : config.rope;
    this.maxPositions = config.maxPositionEmbeddings;
    if (this.rope && this.rope.rope_type !== 'dynamic') this.ropeFreqs = ropeFrequencies(this.rope, headDim, { maxPositionEmbeddings: this.maxPositions });
    if (this.rope?.rope_type === 'dynamic') ropeFrequencies(this.rope, headDim, { maxPositionEmbeddings: this.maxPositions }); // validate now
    if (config.alibi) this.slopes = tf.keep(alibiSlopes(numHeads));
    this.windowLeft = config.slidingWindow !== undefined ? config.slidingWindow - 1 : -1;
    const std = config.initializerRange ?? 0.02;
    const seed = config.seed ?? 0;
    const qd = numHeads * headDim;
    const kvd = numKvHeads * headDim;
    const shapes: [string, number, number][] = [
      ['q_proj', qd, hiddenSize],
      ['k_proj', kvd, hiddenSize],
      ['v_proj', kvd, hiddenSize],
    ];
    if (config.outputProjection ?? true) shapes.push(['o_proj', hiddenSize, qd]);
    shapes.forEach(([name, out, inp], i) => {
      this.params[`${name}.weight`] = variableFrom(init.normal([out, inp], { std, seed: seed * 16 + i }));
      if (config.attentionBias) this.params[`${name}.bias`] = variableFrom(tf.zeros([out]));
    });
  }

  /** The trainable parameters by transformers name (`q_proj.weight`, …), as `tf.Variable`s. */
  parameters(): Record<string, Variable> {
    return { ...this.params };
  }

  /**
   * Copy weights into the parameters.
   * @param weights - tensors keyed like {@link Attention.parameters} (`q_proj.weight` …)
   * @param options - `strict` (default true): unknown names are an error too
   * @throws naming the missing, unexpected or mis-shaped weight
   */
  loadWeights(weights: Record<string, Tensor>, options: { strict?: boolean } = {}): void {
    const fn = `${FN}.loadWeights`;
    for (const [name, p] of Object.entries(this.params)) {
      const w = weights[name];
      if (!w) check(fn).fail(`missing weight '${name}' (expected shape [${p.shape}])`);
      if (!tf.util.arraysEqual(w.shape, p.shape)) check(fn).fail(`weight '${name}' has shape [${w.shape}], expected [${p.shape}]`);
    }
    if (options.strict ?? true) {
      for (const name of Object.keys(weights)) if (!(name in this.params)) check(fn).fail(`unexpected weight '${name}' (this block has: ${Object.keys(this.params).join(', ')})`);
    }
    for (const [name, p] of Object.entries(this.params)) tf.tidy(() => p.assign(tf.cast(weights[name], 'float32')));
  }

  /** An empty KV cache sized for this block. @param batch - `batch` @param capacity - maximum tokens */
  createCache(batch: number, capacity: number): KVCache {
    return new KVCache({ batch, capacity, nKvHeads: this.numKvHeads, headDim: this.headDim });
  }

  /**
   * Attention over a whole sequence, before `o_proj`.
   * @param u - input `[batch, seqlen, hiddenSize]`
   * @returns output `[batch, seqlen, nHeads·headDim]`, and the KV cache when `cacheCapacity` is given
   */
  forwardPreProjection(u: Tensor, options: AttentionForwardOptions = {}): AttentionOutput {
    this.checkInput(`${FN}.forward`, u);
    const [batch, seqlen] = u.shape;
    if (options.cacheCapacity !== undefined) {
      check(`${FN}.forward`).attr('cacheCapacity').int(options.cacheCapacity, { min: seqlen });
      if (options.cuSeqlens) check(`${FN}.forward`).fail('cacheCapacity (prefill) cannot be combined with cuSeqlens (packed sequences)');
    }
    let cache: KVCache | undefined;
    const output = tf.tidy(() => {
      const positions = options.positions ?? tf.range(0, seqlen, 1, 'int32');
      const { q, k, v } = this.project(u, positions, options.positions ? undefined : seqlen - 1);
      if (options.cacheCapacity !== undefined) {
        cache = this.createCache(batch, options.cacheCapacity);
        cache.append(k, v, options.keyPaddingMask);
      }
      if (options.attend) return tf.reshape(options.attend(q, k, v), [batch, seqlen, this.numHeads * this.headDim]) as Tensor3D;
      const { out } = flashAttention(q, k, v, {
        causal: options.causal ?? true,
        softmaxScale: this.softmaxScale,
        alibiSlopes: this.slopes,
        windowLeft: this.windowLeft,
        keyPaddingMask: options.keyPaddingMask,
        cuSeqlens: options.cuSeqlens,
      });
      return tf.reshape(out, [batch, seqlen, this.numHeads * this.headDim]) as Tensor3D;
    });
    return cache ? { output, cache } : { output };
  }

  /**
   * Attention over a whole sequence, with `o_proj`.
   * @param u - input `[batch, seqlen, hiddenSize]`
   * @returns output `[batch, seqlen, hiddenSize]`, and the KV cache when `cacheCapacity` is given
   */
  forward(u: Tensor, options: AttentionForwardOptions = {}): AttentionOutput {
    const pre = this.forwardPreProjection(u, options);
    const output = tf.tidy(() => this.outProject(pre.output));
    pre.output.dispose();
    return { ...pre, output };
  }

  /**
   * One decode step (or a chunk of new tokens) before `o_proj`: project, rotate at the positions
   * after the cache's tokens, append k/v to the cache, attend to the whole cache.
   * @param u - new tokens `[batch, newTokens, hiddenSize]`, or `[batch, hiddenSize]` for one token
   *   per sequence (the decode step without the reshapes to and from 3-D)
   * @param cache - this block's cache (from `forward` with cacheCapacity, or {@link Attention.createCache})
   * @returns `[batch, newTokens, nHeads·headDim]` (`[batch, nHeads·headDim]` for a 2-D u)
   */
  stepPreProjection(u: Tensor2D, cache: KVCache, options?: AttentionStepOptions): Tensor2D;
  stepPreProjection(u: Tensor, cache: KVCache, options?: AttentionStepOptions): Tensor3D;
  stepPreProjection(u: Tensor, cache: KVCache, options: AttentionStepOptions = {}): Tensor3D | Tensor2D {
    const flat = u.rank === 2;
    if (flat) checkTensor(check(`${FN}.step`), 'u', u, 'batch, hiddenSize');
    else this.checkInput(`${FN}.step`, u);
    if (u.shape[u.rank - 1] !== this.hiddenSize) check(`${FN}.step`).fail(`u has hidden size ${u.shape[u.rank - 1]}, expected ${this.hiddenSize}`);
    const [batch, n] = flat ? [u.shape[0], 1] : u.shape;
    if (cache.batch !== batch || cache.nKvHeads !== this.numKvHeads || cache.headDim !== this.headDim) {
      check(`${FN}.step`).fail(`the cache [batch ${cache.batch}, nKvHeads ${cache.nKvHeads}, headDim ${cache.headDim}] does not match this block and input (batch ${batch}, nKvHeads ${this.numKvHeads}, headDim ${this.headDim})`);
    }
    if (cache.length + n > cache.capacity) check(`${FN}.step`).fail(`${n} new token(s) would overflow the cache (holding ${cache.length} of capacity ${cache.capacity})`);
    return tf.tidy(() => {
      const positions = options.positions ?? tf.range(cache.length, cache.length + n, 1, 'int32');
      const { q, k, v } = this.project(u, positions, options.positions ? undefined : cache.length + n - 1);
      cache.append(k, v, options.keyPaddingMask);
      const { out } = decodeAttention(q, cache, { softmaxScale: this.softmaxScale, alibiSlopes: this.slopes, windowLeft: this.windowLeft });
      return tf.reshape(out, flat ? [batch, this.numHeads * this.headDim] : [batch, n, this.numHeads * this.headDim]) as Tensor3D | Tensor2D;
    });
  }

  /**
   * One decode step with `o_proj`.
   * @param u - new tokens `[batch, newTokens, hiddenSize]`
   * @returns `[batch, newTokens, hiddenSize]`
   */
  step(u: Tensor, cache: KVCache, options: AttentionStepOptions = {}): Tensor3D {
    const pre = this.stepPreProjection(u, cache, options);
    const out = tf.tidy(() => this.outProject(pre));
    pre.dispose();
    return out;
  }

  /** Release the parameters. */
  dispose(): void {
    Object.values(this.params).forEach((p) => p.dispose());
    this.slopes?.dispose();
  }

  private checkInput(fn: string, u: Tensor): void {
    checkTensor(check(fn), 'u', u, 'batch, seqlen, hiddenSize');
    if (u.shape[2] !== this.hiddenSize) check(fn).fail(`u has hidden size ${u.shape[2]}, expected ${this.hiddenSize}`);
  }

  /** x `[b, l, d]` → `[b, l, out]`, or (no reshapes: each is a kernel) `[tokens, d]` → `[tokens, out]`. */
  private linear(x: Tensor, name: string): Tensor {
    const w = this.params[`${name}.weight`];
    const flat = x.rank === 2;
    let y = this.matmul(flat ? x : tf.reshape(x, [x.shape[0] * x.shape[1]!, x.shape[2]!]), w);
    const bias = this.params[`${name}.bias`];
    if (bias) y = tf.add(y, bias);
    return flat ? y : tf.reshape(y, [x.shape[0], x.shape[1]!, w.shape[0]]);
  }

  private frequencies(positions: Tensor, maxPosition?: number): RopeFrequencies {
    if (this.ropeFreqs) return this.ropeFreqs;
    // dynamic NTK: frequencies follow the longest position seen in this call, as transformers' dynamic update
    let max = maxPosition;
    if (max === undefined) {
      const c: OpCheck = check(FN);
      let values: ArrayLike<number>;
      try {
        values = positions.dataSync();
      } catch (e) {
        c.fail(`dynamic RoPE needs the largest position on the host and the backend cannot read it synchronously (${(e as Error).message}); read positions first (await positions.data())`);
      }
      max = 0;
      for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
    }
    const seqLen = max + 1;
    return ropeFrequencies(this.rope as RopeParameters, this.headDim, { maxPositionEmbeddings: this.maxPositions, seqLen });
  }

  private project(u: Tensor, positions: Tensor, maxPosition?: number): { q: Tensor; k: Tensor; v: Tensor } {
    // u `[b, l, d]`, or `[b, d]` for one token per sequence: flattened once, the products reshaped
    // straight into heads (each reshape is a kernel)
    const [b, l] = u.rank === 2 ? [u.shape[0], 1] : u.shape;
    const x = u.rank === 2 ? u : tf.reshape(u, [b * l, this.hiddenSize]);
    const names = ['q_proj', 'k_proj', 'v_proj'];
    const [q2, k2, v2] = this.matmuls(
      x,
      names.map((n) => this.params[`${n}.weight`]),
    ).map((y, i) => {
      const bias = this.params[`${names[i]}.bias`];
      return bias ? tf.add(y, bias) : y;
    });
    let q = tf.reshape(q2, [b, l, this.numHeads, this.headDim]);
    let k = tf.reshape(this.keyMultiplier !== 1 ? tf.mul(k2, this.keyMultiplier) : k2, [b, l, this.numKvHeads, this.headDim]);
    const v = tf.reshape(v2, [b, l, this.numKvHeads, this.headDim]);
    if (this.rope) {
      const f = this.frequencies(positions, maxPosition);
      q = applyRope(q, positions, f);
      k = applyRope(k, positions, f);
    }
    return { q, k, v };
  }

  private outProject(x: Tensor): Tensor3D {
    if (!this.params['o_proj.weight']) check(FN).fail('this block was built with outputProjection: false; use forwardPreProjection / stepPreProjection');
    return this.linear(x, 'o_proj') as Tensor3D;
  }
}
