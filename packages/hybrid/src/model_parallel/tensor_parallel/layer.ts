/**
 * One Falcon-H1 decoder layer on one TP rank:
 *
 *   u = RMSNorm(x)                      (SP: x and u hold seqlen/t positions)
 *   ū = enter(u)                        (copy; SP: all-gather)
 *   a = attention of my heads(ū·α_in)·α_attn_out;  m = Mamba-2 of my heads(ū)·α_ssm_out
 *   x = x + exit([a, m] @ [o_proj | out_proj]_myColumnsᵀ) + biases     (one all-reduce; SP: reduce-scatter)
 *   x = x + exit(down_myCols(up_my(v̄) · silu(gate_my(v̄)·μ₀)))·μ₁ with v̄ = enter(RMSNorm(x))
 *
 * BitNet layers quantise with whole-matrix scales ({@link shardedBitMatMul}).
 */
import { enterTensorParallel, exitTensorParallel } from '@falcon/parallel';
import type { ProcessGroup } from '@falcon/parallel';
import { rmsNorm, tf } from '@falcon/tensor';
import type { Tensor, Variable } from '@falcon/tensor';
import { falconH1Dims } from '@falcon/checkpoint';
import type { HybridConfig } from '../../config.js';
import { layerDims } from '../../config.js';
import { attentionShardPrefill, attentionShardStep } from './attention_shard.js';
import type { AttentionShardConfig, AttentionShardCore } from './attention_shard.js';
import { countedRows, rowAbsMax, shardedBitMatMul, weightMeanAbs } from './bitnet_shard.js';
import type { TensorParallelLayout } from './layout.js';
import { mambaShardPrefill, mambaShardStep } from './mamba_shard.js';
import type { MambaShardCache, MambaShardCore } from './mamba_shard.js';
import type { KVCache } from '@falcon/attention';
import { recomputed } from '../../recompute.js';
import type { RecomputePolicy } from '../../recompute.js';

/** What every layer of one rank shares. */
export interface TensorParallelContext {
  /** The model config. */
  config: HybridConfig;
  /** This rank's layout. */
  layout: TensorParallelLayout;
  /** The TP group. */
  group: ProcessGroup;
  /** This rank's parameters by HF name. */
  params: Record<string, Tensor>;
  /** Attention settings (RoPE frequencies computed once). */
  attention: AttentionShardConfig;
  /** Context parallelism (absent: none): the attention and Mamba-2 cores that run across the CP group. */
  contextParallel?: { attend: AttentionShardCore; mamba: MambaShardCore };
}

const matMulT = (x: Tensor, w: Tensor) => tf.matMul(x, w, false, true);

/** One layer's decoding state on this rank: its KV cache (local KV heads) and its Mamba-2 states (local channels and heads). */
export interface TensorParallelLayerCache {
  kv?: KVCache;
  mamba?: MambaShardCache;
}

/** Prefill (`capacity`: build the cache) or decoding (`cache`: continue from it; replaced in `next`). */
export interface TensorParallelDecode {
  /** Prefill: the KV cache capacity. */
  capacity?: number;
  /** Decoding: the layer's cache (its KV caches are appended in place). */
  cache?: TensorParallelLayerCache;
  /** Filled with the layer's cache after the call. */
  next?: TensorParallelLayerCache;
}

/**
 * @param x - residual stream `[batch, seqlen, d]` (SP: `[batch, seqlen/t, d]`)
 * @param i - layer index
 * @param positions - int32 `[batch, seqlen]` RoPE positions (full sequence)
 * @param mask - `[batch, seqlen]` 1 keep / 0 padding
 * @param decode - prefill / decoding with the hybrid cache (not under sequence parallelism)
 * @param recompute - `'attention'`, `'mamba'` or `'both'`: those mixers of this rank recomputed in the
 *   backward (their collectives included; training only, ignored with `decode`); `'layer'` and
 *   `'none'` are the caller's (default none)
 * @returns the new residual stream, shape of x
 */
export function tensorParallelLayer(
  x: Tensor,
  i: number,
  ctx: TensorParallelContext,
  positions: Tensor,
  mask?: Tensor,
  decode?: TensorParallelDecode,
  recompute: RecomputePolicy = 'none',
): Tensor {
  const { config, layout, group, params } = ctx;
  const b = config.base;
  const bit = config.bitnet;
  const L = layout.layers[i];
  const opts = { group, sequenceParallel: layout.sequenceParallel };
  const P = (n: string) => params[`model.layers.${i}.${n}`];
  const d = b.hidden_size;
  const { attnWidth, dSsm } = layerDims(config, i);
  const hd = falconH1Dims(b).head_dim;
  if (decode && layout.sequenceParallel) throw new Error('tensorParallelLayer: decoding with the cache runs without sequence parallelism');
  const next: TensorParallelLayerCache = {};
  const y = tf.tidy(() => {
    const u = enterTensorParallel(rmsNorm(x, P('input_layernorm.weight'), b.rms_norm_eps), opts);
    const [bs, l] = u.shape;
    const parts: Tensor[] = [];
    if (L.attention) {
      const a = L.attention;
      // this rank's attention heads of the normed input (the BitNet scales' all-reduces included, so
      // that a recomputation repeats them and the weights get every gradient term)
      const attention = (un: Tensor, pos: Tensor, msk: Tensor | undefined, capacity?: number) => {
        const means: Record<string, Tensor> = {};
        if (bit.attention) {
          const kvRows = countedRows([[(a.shared[1] - a.shared[0]) * hd, a.counted, hd]]);
          const kvCount = a.total.shared * hd * d;
          means.q_proj = weightMeanAbs(group, P('self_attn.q_proj.weight'), attnWidth * d);
          means.k_proj = weightMeanAbs(group, P('self_attn.k_proj.weight'), kvCount, kvRows);
          means.v_proj = weightMeanAbs(group, P('self_attn.v_proj.weight'), kvCount, kvRows);
        }
        const project = (t: Tensor, name: 'q_proj' | 'k_proj' | 'v_proj') => {
          const w = P(`self_attn.${name}.weight`);
          const y = bit.attention ? shardedBitMatMul(t, w, means[name]) : matMulT(t, w);
          const bias = P(`self_attn.${name}.bias`);
          return bias ? tf.add(y, bias) : y;
        };
        const ua = tf.mul(un, b.attention_in_multiplier);
        if (decode?.cache) return { y: attentionShardStep(ua, project, a, ctx.attention, pos, decode.cache.kv!, msk), cache: decode.cache.kv };
        return attentionShardPrefill(ua, project, a, ctx.attention, pos, msk, capacity, ctx.contextParallel?.attend);
      };
      let y: Tensor;
      if (!decode && (recompute === 'attention' || recompute === 'both')) {
        const vars = ['q_proj', 'k_proj', 'v_proj'].flatMap((n) => [P(`self_attn.${n}.weight`), P(`self_attn.${n}.bias`)]).filter((t): t is Variable => !!t);
        y = recomputed((t, [pos, msk]) => attention(t, pos!, msk).y, u, vars, [positions, mask]);
      } else {
        const r = attention(u, positions, mask, decode?.capacity);
        y = r.y;
        if (r.cache) next.kv = r.cache;
      }
      parts.push(tf.mul(y, b.attention_out_multiplier));
    }
    if (L.mamba) {
      const m = L.mamba;
      const w = P('mamba.in_proj.weight');
      const project = (t: Tensor) => {
        let mean: Tensor | undefined;
        if (bit.mamba) {
          const hp = (m.heads[1] - m.heads[0]) * b.mamba_d_head;
          const gn = (m.shared[1] - m.shared[0]) * b.mamba_d_state;
          const n = b.mamba_d_state;
          const rows = countedRows([[hp, null, 1], [hp, null, 1], [gn, m.counted, n], [gn, m.counted, n], [m.heads[1] - m.heads[0], null, 1]]);
          const total = 2 * dSsm + 2 * b.mamba_n_groups * n + m.total.heads;
          mean = weightMeanAbs(group, w, total * d, rows);
        }
        const y = mean ? shardedBitMatMul(t, w, mean) : matMulT(t, w);
        const bias = P('mamba.in_proj.bias');
        return bias ? tf.add(y, bias) : y;
      };
      const mp: Record<string, Tensor> = {};
      for (const k of ['conv1d.weight', 'conv1d.bias', 'dt_bias', 'A_log', 'D', 'norm.weight']) if (P(`mamba.${k}`)) mp[k] = P(`mamba.${k}`);
      const cfg = {
        headDim: b.mamba_d_head,
        dState: b.mamba_d_state,
        dConv: b.mamba_d_conv,
        chunkSize: b.mamba_chunk_size,
        inMultiplier: b.ssm_in_multiplier,
        multipliers: b.ssm_multipliers,
        dtLimit: b.time_step_limit ?? ([0, Infinity] as const),
        rmsNorm: b.mamba_rms_norm,
        normBeforeGate: b.mamba_norm_before_gate,
        eps: b.rms_norm_eps,
      };
      let y: Tensor;
      if (decode?.cache) {
        const r = mambaShardStep(u, project, mp, m, cfg, group, decode.cache.mamba!);
        y = r.y;
        next.mamba = { convState: tf.keep(r.cache.convState), ssmState: tf.keep(r.cache.ssmState) };
      } else if (!decode && (recompute === 'mamba' || recompute === 'both')) {
        // the BitNet scale's all-reduce and the gated norm's are inside `project` / the shard, so a recomputation repeats them
        const vars = [w, P('mamba.in_proj.bias'), ...Object.values(mp)].filter((t): t is Variable => !!t);
        y = recomputed((t, [msk]) => mambaShardPrefill(t, project, mp, m, cfg, group, msk, false, ctx.contextParallel?.mamba).y, u, vars, [mask]);
      } else {
        const r = mambaShardPrefill(u, project, mp, m, cfg, group, mask, decode?.capacity !== undefined, ctx.contextParallel?.mamba);
        y = r.y;
        if (r.cache) next.mamba = { convState: tf.keep(r.cache.convState), ssmState: tf.keep(r.cache.ssmState) };
      }
      parts.push(tf.mul(y, b.ssm_out_multiplier));
    }
    // the fused shared output projection, row-parallel: my heads' input columns of [o_proj | out_proj]
    const feats = tf.reshape(parts.length === 1 ? parts[0] : tf.concat(parts, -1), [bs * l, -1]);
    const wParts = [P('self_attn.o_proj.weight'), P('mamba.out_proj.weight')].filter((t): t is Tensor => !!t);
    const wOut = wParts.length === 1 ? wParts[0] : tf.concat(wParts, 1);
    const partial = bit.outProj ? shardedBitMatMul(feats, wOut, weightMeanAbs(group, wOut, d * (attnWidth + dSsm)), rowAbsMax(group, feats)) : matMulT(feats, wOut);
    let h = exitTensorParallel(tf.reshape(partial, [bs, l, d]), opts);
    const ob = P('self_attn.o_proj.bias');
    const mb = P('mamba.out_proj.bias');
    if (ob) h = tf.add(h, tf.mul(ob, b.attention_out_multiplier));
    if (mb) h = tf.add(h, tf.mul(mb, b.ssm_out_multiplier));
    const x1 = tf.add(x, h);
    return tf.add(x1, mlpShard(x1, i, ctx));
  });
  if (decode) decode.next = next;
  return y;
}

/** The MLP of layer i on this rank: gate/up column-parallel, down row-parallel. @returns the MLP output, shape of x */
function mlpShard(x: Tensor, i: number, ctx: TensorParallelContext): Tensor {
  const { config, group, layout, params } = ctx;
  const b = config.base;
  const bit = config.bitnet.mlp;
  const P = (n: string) => params[`model.layers.${i}.feed_forward.${n}`];
  const opts = { group, sequenceParallel: layout.sequenceParallel };
  const d = b.hidden_size;
  const count = b.intermediate_size * d;
  const v = enterTensorParallel(rmsNorm(x, params[`model.layers.${i}.pre_ff_layernorm.weight`], b.rms_norm_eps), opts);
  const [bs, l] = v.shape;
  const v2 = tf.reshape(v, [bs * l, d]);
  const col = (name: string) => {
    const w = P(`${name}.weight`);
    const y = bit ? shardedBitMatMul(v2, w, weightMeanAbs(group, w, count)) : matMulT(v2, w);
    const bias = P(`${name}.bias`);
    return bias ? tf.add(y, bias) : y;
  };
  const gate = tf.mul(col('gate_proj'), b.mlp_multipliers[0]);
  const hidden = tf.mul(col('up_proj'), tf.mul(gate, tf.sigmoid(gate)));
  const wd = P('down_proj.weight');
  const partial = bit ? shardedBitMatMul(hidden, wd, weightMeanAbs(group, wd, count), rowAbsMax(group, hidden)) : matMulT(hidden, wd);
  let y = exitTensorParallel(tf.reshape(partial, [bs, l, d]), opts);
  if (P('down_proj.bias')) y = tf.add(y, P('down_proj.bias'));
  return tf.mul(y, b.mlp_multipliers[1]);
}
