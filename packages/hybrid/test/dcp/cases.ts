// What the distributed checkpoint tests save and load, shared by the worker processes and the
// tests: random tensors under random layouts (dcp random), and synthetic tensor- and
// pipeline-parallel plans of a Falcon-H1 model (§6 of the spec: in_proj split by its z/x/B/C/dt parts
// with groups replicated, the fused output projection by input columns, MLP column/row, vocab-parallel
// embeddings, KV heads replicated when fewer than tp; layers by pipeline stage).
import { Rng, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { rankCoords, replicated } from '@falcon/parallel';
import type { ShardPlan, ShardSpec } from '@falcon/parallel';
import { randomSpecs } from '@falcon/parallel/testing';
import { falconH1Dims } from '@falcon/checkpoint';
import type { HybridConfig } from '../../src/index.js';

/** One tensor of a random case: its full values and every saving rank's spec. */
export interface RandomTensor {
  name: string;
  shape: number[];
  /** Row-major values (ternary values for packed tensors, integers for int32 ones). */
  values: number[];
  dtype: 'float32' | 'int32';
  ternary: boolean;
  specs: ShardSpec[];
}

// each tensor under another kind of layout (randomSpecs of @falcon/parallel/testing); t3 is packed, t1 int32
const SHAPES = [[13, 6], [17], [9, 5, 3], [10, 11], [6, 9], [4, 3]];
const KINDS = ['split', 'overlap', 'interleaved', 'interleaved', 'mixed', 'replicated'] as const;

/** A random case: `world` saving ranks, a few tensors of awkward shapes, one of them packed ternary, one int32. */
export function randomCase(seed: number, world: number): RandomTensor[] {
  const rng = new Rng(seed);
  return SHAPES.map((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const ternary = i === 3;
    const dtype = i === 1 ? 'int32' : 'float32';
    const values = Array.from({ length: n }, () => (ternary ? rng.int(3) - 1 : dtype === 'int32' ? rng.int(2000) - 1000 : rng.normal()));
    const specs = randomSpecs(rng, shape, world, i === 3 && seed % 2 ? 'split' : KINDS[i]).map((s) => (ternary ? { ...s, encoding: 'ternary2' as const } : s));
    return { name: `t${i}.weight`, shape, values, dtype, ternary, specs };
  });
}

/** Another layout of a random case's tensors for `world` loading ranks (drawn from another seed). */
export function randomTargets(seed: number, tensors: RandomTensor[], world: number): ShardPlan[] {
  const rng = new Rng(seed * 7919 + world);
  const plans: ShardPlan[] = Array.from({ length: world }, () => ({}));
  for (const t of tensors) {
    randomSpecs(rng, t.shape, world).forEach((s, r) => (plans[r][t.name] = t.ternary && rng.int(2) ? { ...s, encoding: 'ternary2' } : s));
  }
  return plans;
}

/** The full tensor of a random case's tensor. */
export function fullTensor(t: RandomTensor): Tensor {
  return tf.tensor(t.values, t.shape, t.dtype);
}

/** The optimizer moments the tests save beside a weight: functions of it, so any rank can recompute them. */
export function moments(w: Tensor): { m: Tensor; v: Tensor } {
  return tf.tidy(() => ({ m: tf.mul(w, 0.25), v: tf.add(tf.square(w), 1e-3) }));
}

/** `[r·n/t, (r+1)·n/t)` offset by `base`. */
function part(base: number, n: number, t: number, r: number): [number, number] {
  return [base + (r * n) / t, base + ((r + 1) * n) / t];
}

/**
 * A rank's spec of one Falcon-H1 weight under tensor parallelism `tp` (rank `r`).
 * @param config - the model config (heads divisible by tp, except KV heads, replicated when fewer)
 * @param name - the weight's Hugging Face name
 * @param shape - its full shape
 */
export function tpSpec(config: HybridConfig, name: string, shape: number[], tp: number, r: number): ShardSpec {
  if (tp === 1) return replicated(shape);
  const b = config.base;
  const dims = falconH1Dims(b);
  const hd = dims.head_dim;
  const dSsm = dims.d_ssm;
  const h = b.mamba_n_heads;
  const gn = b.mamba_n_groups * b.mamba_d_state;
  const rows = (ranges: Array<[number, number]>): ShardSpec => ({ shape, axis: 0, ranges });
  const cols = (ranges: Array<[number, number]>): ShardSpec => ({ shape, axis: 1, ranges });
  const groupsSplit = b.mamba_n_groups % tp === 0;
  const bc = (base: number): Array<[number, number]> => (groupsSplit ? [part(base, gn, tp, r), part(base + gn, gn, tp, r)] : [[base, base + 2 * gn]]);
  const leaf = name.replace(/^model\.layers\.\d+\./, '');
  switch (leaf) {
    case 'self_attn.q_proj.weight':
      return rows([part(0, b.num_attention_heads * hd, tp, r)]);
    case 'self_attn.k_proj.weight':
    case 'self_attn.v_proj.weight':
      return b.num_key_value_heads % tp === 0 ? rows([part(0, b.num_key_value_heads * hd, tp, r)]) : replicated(shape);
    case 'self_attn.o_proj.weight':
      return cols([part(0, b.num_attention_heads * hd, tp, r)]);
    case 'mamba.in_proj.weight':
      // z, x, B and C (groups), dt: each part split by heads (or groups), kept in this order
      return rows([part(0, dSsm, tp, r), part(dSsm, dSsm, tp, r), ...bc(2 * dSsm), part(2 * dSsm + 2 * gn, h, tp, r)]);
    case 'mamba.conv1d.weight':
    case 'mamba.conv1d.bias':
      return rows([part(0, dSsm, tp, r), ...bc(dSsm)]);
    case 'mamba.dt_bias':
    case 'mamba.A_log':
    case 'mamba.D':
      return rows([part(0, h, tp, r)]);
    case 'mamba.norm.weight':
      return rows([part(0, dSsm, tp, r)]);
    case 'mamba.out_proj.weight':
      return cols([part(0, dSsm, tp, r)]);
    case 'feed_forward.gate_proj.weight':
    case 'feed_forward.up_proj.weight':
      return rows([part(0, b.intermediate_size, tp, r)]);
    case 'feed_forward.down_proj.weight':
      return cols([part(0, b.intermediate_size, tp, r)]);
    case 'model.embed_tokens.weight':
    case 'lm_head.weight':
      return rows([part(0, b.vocab_size, tp, r)]);
    default:
      return replicated(shape); // norms
  }
}

/** The pipeline stage (of `pp`, layers split evenly) that holds a weight; embeddings also on the last stage when tied. */
export function stagesOf(config: HybridConfig, name: string, pp: number): number[] {
  const layers = config.base.num_hidden_layers;
  const m = /^model\.layers\.(\d+)\./.exec(name);
  if (m) return [Math.floor((Number(m[1]) * pp) / layers)];
  if (name === 'model.embed_tokens.weight') return config.base.tie_word_embeddings ? [...new Set([0, pp - 1])] : [0];
  return [pp - 1]; // final norm, lm_head
}

/**
 * The plan of global rank `rank` under TP × PP (Megatron's rank order, tp fastest) of a model.
 * @param config - the model config
 * @param shapes - every weight's full shape (`model.stateDictShapes()`)
 */
export function layoutPlan(config: HybridConfig, shapes: Map<string, number[]>, sizes: { tp: number; pp: number }, rank: number): ShardPlan {
  const c = rankCoords(rank, { tp: sizes.tp, cp: 1, dp: 1, pp: sizes.pp });
  const plan: ShardPlan = {};
  for (const [name, shape] of shapes) if (stagesOf(config, name, sizes.pp).includes(c.pp)) plan[name] = tpSpec(config, name, shape, sizes.tp, c.tp);
  return plan;
}
