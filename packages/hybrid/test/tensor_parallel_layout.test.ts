// The Falcon-H1 tensor-parallel layout and the head router, without processes: every rank's plan
// is a valid ShardSpec per parameter, the ranks' pieces together cover every element (cutting the
// full weights by the plans and placing them back gives the full weights), in_proj is cut into its
// z, x, B, C, dt ranges, replication and the gradient rule follow the head split, and the router
// balances the modelled cost at least as well as the naive split.
import { describe, expect, it } from 'vitest';
import { checkShardSpec, placeShard, takeShard } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import { FalconH1ForCausalLM, headCosts, hybridConfig, imbalance, naiveSplit, rankCosts, routeHeads, tensorParallelLayout } from '../src/index.js';
import { groups1, groups2 } from './tp/cases.js';

describe('tensorParallelLayout', () => {
  it('plans cover every parameter of the one-rank model (TP 2 and 3, uneven splits)', () => {
    for (const config of [groups1(false), groups2(false, true)]) {
      const model = new FalconH1ForCausalLM(config, 1);
      const full = model.stateDict();
      for (const [t, splits] of [[2, undefined], [3, undefined], [3, [{ attention: [1, 2, 1 + config.layers[0].attentionHeads - 4], mamba: [1, 3, 2] }, { attention: [2, 1, config.layers[1].attentionHeads - 3], mamba: [2, 1, 3] }]]] as const) {
        const layouts = Array.from({ length: t }, (_, r) => tensorParallelLayout(config, { size: t, rank: r, splits: splits as never }));
        expect(Object.keys(layouts[0].shapes).sort()).toEqual(Object.keys(full).sort());
        for (const [name, w] of Object.entries(full)) {
          expect(layouts[0].shapes[name]).toEqual(w.shape);
          // overlapping pieces hold equal values: the sum over ranks divided by the coverage is the full tensor
          const sum = tf.addN(layouts.map((l) => (l.plan[name] ? placeShard(takeShard(w, l.plan[name]), l.plan[name]) : tf.zeros(w.shape))));
          const cover = tf.addN(layouts.map((l) => (l.plan[name] ? placeShard(tf.ones(takeShard(w, l.plan[name]).shape), l.plan[name]) : tf.zeros(w.shape))));
          expect(tf.min(cover).dataSync()[0], name).toBeGreaterThanOrEqual(1);
          const back = tf.div(sum, cover).dataSync();
          const want = w.dataSync();
          for (let i = 0; i < want.length; i++) if (Math.abs(back[i] - want[i]) > 1e-7 * Math.abs(want[i])) throw new Error(`${name}[${i}]: ${back[i]} vs ${want[i]}`);
          for (const l of layouts) if (l.plan[name]) checkShardSpec(name, l.plan[name]);
        }
      }
      model.dispose();
    }
  });

  it('cuts in_proj into the z, x, B, C, dt ranges of the rank heads; replicated groups and KV heads get their gradients reduced', () => {
    const config = groups1(false); // 6 Mamba-2 heads × p 4, 1 group × n 4; 4 attention heads, 1 KV head
    const [r0, r1] = [0, 1].map((r) => tensorParallelLayout(config, { size: 2, rank: r }));
    const dSsm = 24;
    expect(r1.plan['model.layers.0.mamba.in_proj.weight'].ranges).toEqual([[12, 24], [dSsm + 12, dSsm + 24], [48, 52], [52, 56], [56 + 3, 56 + 6]]);
    expect(r0.plan['model.layers.0.mamba.conv1d.weight'].ranges).toEqual([[0, 12], [24, 28], [28, 32]]);
    expect(r0.plan['model.layers.0.self_attn.k_proj.weight'].ranges).toEqual([[0, 4]]);
    expect(r1.plan['model.layers.0.self_attn.o_proj.weight']).toMatchObject({ axis: 1, ranges: [[8, 16]] });
    expect(r0.layers[0].mamba!.counted).toEqual([1]);
    expect(r1.layers[0].mamba!.counted).toEqual([0]);
    expect(r0.reduceOverTp).toEqual(expect.arrayContaining(['model.layers.0.mamba.in_proj.weight', 'model.layers.0.self_attn.k_proj.weight', 'model.layers.0.mamba.conv1d.bias']));
    expect(r0.reduceOverTp).not.toContain('model.layers.0.input_layernorm.weight');
    const sp = tensorParallelLayout(config, { size: 2, rank: 0, sequenceParallel: true });
    expect(sp.reduceOverTp).toEqual(expect.arrayContaining(['model.layers.0.input_layernorm.weight', 'model.final_layernorm.weight']));
    // n_groups 2 on TP 2: each rank holds one whole group and one whole KV head: nothing replicated
    const g2 = tensorParallelLayout(groups2(false), { size: 2, rank: 0 });
    expect(g2.reduceOverTp.filter((n) => !n.includes('bias'))).toEqual([]);
    expect(g2.layers[0].mamba!.split).toBe(false);
  });

  it('refuses splits that do not match the heads, and ranks without a head of a kind', () => {
    const config = groups1(false);
    expect(() => tensorParallelLayout(config, { size: 2, rank: 0, splits: [{ attention: [2, 1], mamba: [3, 3] }, { attention: [2, 2], mamba: [3, 3] }] })).toThrow(/attention split \[2,1\]/);
    expect(() => tensorParallelLayout(config, { size: 2, rank: 0, splits: [{ attention: [4, 0], mamba: [3, 3] }, { attention: [2, 2], mamba: [3, 3] }] })).toThrow(/at least 1/);
    expect(() => tensorParallelLayout(config, { size: 5, rank: 0 })).toThrow(/at least 5 heads/);
  });
});

describe('routeHeads', () => {
  const c05 = hybridConfig({
    model_type: 'falcon_h1', vocab_size: 1000, hidden_size: 1024, intermediate_size: 2048, num_hidden_layers: 1, num_attention_heads: 8, num_key_value_heads: 2,
    head_dim: 64, mamba_d_ssm: 1536, mamba_n_heads: 24, mamba_d_head: 64, mamba_n_groups: 1, mamba_d_state: 128, mamba_chunk_size: 128,
  });
  for (const t of [3, 5]) {
    for (const seqlen of [256, 4096, 32768]) {
      it(`8 attention + 24 Mamba-2 heads on t = ${t}, seqlen ${seqlen}: balanced at least as well as the naive split`, () => {
        const costs = headCosts(c05, 0, { seqlen });
        const s = routeHeads(c05.layers[0], t, costs);
        expect(s.attention.reduce((a, b) => a + b)).toBe(8);
        expect(s.mamba.reduce((a, b) => a + b)).toBe(24);
        expect(Math.min(...s.attention, ...s.mamba)).toBeGreaterThanOrEqual(1);
        const naive = naiveSplit(c05.layers[0], t);
        expect(Math.max(...rankCosts(s, costs))).toBeLessThanOrEqual(Math.max(...rankCosts(naive, costs)) * (1 + 1e-12));
        // no single head moved between the slowest and the fastest rank would lower the maximum further
        expect(imbalance(s, costs)).toBeLessThan(1 + Math.max(costs.attention, costs.mamba) / (rankCosts(s, costs).reduce((a, b) => a + b) / t));
      });
    }
  }
  it('keeps the even split when heads divide', () => {
    const costs = headCosts(c05, 0, { seqlen: 1024 });
    expect(routeHeads({ attentionHeads: 8, kvHeads: 2, mambaHeads: 24 }, 2, costs)).toEqual({ attention: [4, 4], mamba: [12, 12] });
  });
});
