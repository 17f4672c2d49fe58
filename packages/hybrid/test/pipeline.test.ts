// Pipeline parallelism of Falcon-H1 in one process (every stage a concurrent task over
// memoryTransports, the same executor and stage code the multi-process runs use): the loss and
// every gradient of PP2 / PP4 with 4 microbatches equal one rank's on the same global batch —
// even and uneven splits, tied and untied embeddings, BitNet layers, n_groups 2, the interleaved
// schedule, selective recomputation — with the forward's tape kept until the backward and with
// only the inputs kept (the forward recomputed).
import { describe, expect, it } from 'vitest';
import { memoryTransports } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { PipelineScheduleKind } from '@falcon/parallel';
import { FalconH1ForCausalLM, FalconH1PipelineStage, ParallelHybridLayer, pipelineLayerRanges, pipelineValueAndGrads, wholeStageEnds } from '../src/index.js';
import type { RecomputePolicy, StageRoles } from '../src/index.js';
import { batches, config, relErr, SEED, values } from './pp/setup.js';
import type { Variant } from './pp/setup.js';

interface Case extends Variant {
  stages: number;
  chunks?: number;
  counts?: number[];
  recompute?: RecomputePolicy;
  schedule?: PipelineScheduleKind;
  microbatches?: number;
  stash?: 'activations' | 'inputs';
}

async function compare(c: Case) {
  const cfg = config(c);
  const ref = new FalconH1ForCausalLM(cfg, SEED);
  const { inputIds } = batches().batch(0);
  const want = ref.valueAndVariableGrads(inputIds);
  const transports = memoryTransports(c.stages);
  const stages = Array.from({ length: c.stages }, (_, r) => new FalconH1PipelineStage(cfg, { stages: c.stages, stage: r, chunks: c.chunks, layerCounts: c.counts, seed: SEED }));
  const outs = await Promise.all(
    stages.map((st, r) => pipelineValueAndGrads(st, { inputIds }, { microbatches: c.microbatches ?? 4, transport: transports[r], recompute: c.recompute, schedule: c.schedule, stash: c.stash })),
  );
  const loss = outs[c.stages - 1].loss!.dataSync()[0];
  const wantLoss = want.loss.dataSync()[0];
  // the mean of 4 microbatch means vs one mean over the batch: float32 sums in another order
  expect(Math.abs(loss - wantLoss) / wantLoss).toBeLessThan(1e-5);
  outs.slice(0, -1).forEach((o) => expect(o.loss).toBeUndefined());
  const seen = new Set<string>();
  outs.forEach((o, r) => {
    for (const [k, g] of Object.entries(o.grads)) {
      // float32: the gradient summed over 4 microbatches instead of taken once over the batch
      // (the same terms in another order, ~1e-7 relative each); 1e-5 of the tensor's largest entry
      expect(relErr(values(g), values(want.grads[k])), `stage ${r}: ${k}`).toBeLessThan(1e-5);
      seen.add(k);
    }
  });
  // every parameter of the model has its gradient on some stage
  expect([...seen].sort()).toEqual(Object.keys(want.grads).sort());
  ref.dispose();
  stages.forEach((s) => s.dispose());
}

describe('pipeline parallelism (one process, memory transport)', () => {
  const cases: [string, Case][] = [
    ['PP2, tied embeddings', { stages: 2 }],
    ['PP4, tied embeddings', { stages: 4 }],
    ['PP2, untied embeddings', { stages: 2, tied: false }],
    ['PP4, untied embeddings', { stages: 4, tied: false }],
    ['PP2, uneven split [1, 3]', { stages: 2, counts: [1, 3] }],
    ['PP4, uneven split [2, 0, 1, 1] (a stage without layers)', { stages: 4, counts: [2, 0, 1, 1] }],
    ['PP2, BitNet layers', { stages: 2, bitnet: true }],
    ['PP4, BitNet layers, untied', { stages: 4, bitnet: true, tied: false }],
    ['PP2, n_groups 2', { stages: 2, groups: 2 }],
    ['PP4, n_groups 2', { stages: 4, groups: 2 }],
    ['PP2 interleaved, 2 chunks per stage', { stages: 2, chunks: 2 }],
    ['PP2 interleaved, 2 chunks, uneven [1, 2, 0, 1], untied', { stages: 2, chunks: 2, counts: [1, 2, 0, 1], tied: false }],
    ['PP2, recompute attention', { stages: 2, recompute: 'attention' }],
    ['PP4, recompute both', { stages: 4, recompute: 'both' }],
    ['PP2 interleaved, recompute mamba', { stages: 2, chunks: 2, recompute: 'mamba' }],
    ['PP2, 2 microbatches of 2 rows', { stages: 2, microbatches: 2 }],
    ['PP1 (one stage, the whole model)', { stages: 1 }],
  ];
  for (const stash of ['activations', 'inputs'] as const) {
    for (const [name, c] of cases) it(`${name}, stash ${stash}: loss and every gradient equal one rank`, () => compare({ ...c, stash }));
  }

  it('a stage holds only its layers, and the embeddings / head where they belong', () => {
    const cfg = config({ tied: true });
    const [first, , , last] = Array.from({ length: 4 }, (_, r) => new FalconH1PipelineStage(cfg, { stages: 4, stage: r, seed: SEED }));
    expect(Object.keys(first.shardPlan()).filter((k) => !k.startsWith('model.layers.0.'))).toEqual(['model.embed_tokens.weight']);
    expect(Object.keys(last.shardPlan()).filter((k) => !k.startsWith('model.layers.3.')).sort()).toEqual(['model.embed_tokens.weight', 'model.final_layernorm.weight']);
    expect(last.holdsTiedCopy).toBe(true);
    // the same seed gives the weights of the one-rank model
    const ref = new FalconH1ForCausalLM(cfg, SEED);
    const sd = ref.stateDict();
    for (const [k, t] of Object.entries(last.stateDict())) expect(values(t), k).toEqual(values(sd[k]));
    expect(last.shardPlan()['model.layers.3.self_attn.o_proj.weight']).toEqual({ shape: [32, 32], axis: null, ranges: [] });
  });

  it('takes its layers and its ends from the factories it is given (how tensor-parallel pieces plug in)', async () => {
    const cfg = config({ tied: false });
    const made: number[][] = [[], []];
    const roles: StageRoles[] = [];
    const calls = { forward: 0, loss: 0 };
    const stages = [0, 1].map(
      (r) =>
        new FalconH1PipelineStage(cfg, {
          stages: 2,
          stage: r,
          seed: SEED,
          layer: (i) => {
            made[r].push(i);
            const l = new ParallelHybridLayer(cfg, i, SEED);
            const forward = l.forward.bind(l);
            l.forward = (x, inputs) => (calls.forward++, forward(x, inputs));
            return l;
          },
          ends: (ro) => {
            roles.push(ro);
            const e = wholeStageEnds(cfg, SEED, ro);
            return { ...e, loss: (h, labels, n) => (calls.loss++, e.loss(h, labels, n)) };
          },
        }),
    );
    expect(made).toEqual([[0, 1], [2, 3]]);
    expect(roles).toEqual([{ first: true, last: false }, { first: false, last: true }]);
    const ref = new FalconH1ForCausalLM(cfg, SEED);
    const { inputIds } = batches().batch(0);
    const want = ref.valueAndVariableGrads(inputIds);
    const t = memoryTransports(2);
    const outs = await Promise.all(stages.map((st, r) => pipelineValueAndGrads(st, { inputIds }, { microbatches: 4, transport: t[r] })));
    expect(calls).toEqual({ forward: 16, loss: 4 }); // 4 layers × 4 microbatches (the tape is kept: no second forward); one loss per microbatch
    // float32 sums in another order, as above
    for (const o of outs) for (const [k, g] of Object.entries(o.grads)) expect(relErr(values(g), values(want.grads[k])), k).toBeLessThan(1e-5);
  });

  it('loads a full model\'s weights into a stage', () => {
    const cfg = config({ tied: false });
    const ref = new FalconH1ForCausalLM(cfg, 9);
    const st = new FalconH1PipelineStage(cfg, { stages: 2, stage: 1, seed: 1 });
    st.loadStateDict(ref.stateDict());
    const sd = ref.stateDict();
    for (const [k, t] of Object.entries(st.stateDict())) expect(values(t), k).toEqual(values(sd[k]));
    expect(() => st.loadStateDict({})).toThrow(/pipeline stage 1: missing 'model.final_layernorm.weight', 'lm_head.weight'/);
  });

  it('splits the layers evenly by default, unevenly by a list, and names a bad list', () => {
    expect(pipelineLayerRanges(4, 2)).toEqual([[0, 2], [2, 4]]);
    expect(pipelineLayerRanges(5, 3)).toEqual([[0, 2], [2, 4], [4, 5]]);
    expect(pipelineLayerRanges(4, 2, [1, 3])).toEqual([[0, 1], [1, 4]]);
    expect(() => pipelineLayerRanges(4, 2, [1, 2])).toThrow(/sums to 3, the model has 4 layers/);
    expect(() => pipelineLayerRanges(4, 2, [4])).toThrow(/1 entries, expected one per virtual stage \(2\)/);
  });

  it('names a batch that does not split into the microbatches', async () => {
    const st = new FalconH1PipelineStage(config(), { stages: 1, stage: 0 });
    const { inputIds } = batches().batch(0);
    await expect(pipelineValueAndGrads(st, { inputIds }, { microbatches: 3, transport: memoryTransports(1)[0] })).rejects.toThrow(/batch of 4 rows does not split into 3 microbatches/);
  });

  it('PP2 with a left-padding attention mask: loss and every gradient equal one rank', async () => {
    const cfg = config();
    const ref = new FalconH1ForCausalLM(cfg, SEED);
    const { inputIds } = batches().batch(0);
    const pad = [0, 3, 0, 5];
    const attentionMask = tf.tensor2d(pad.flatMap((p) => Array.from({ length: 12 }, (_, j) => (j < p ? 0 : 1))), [4, 12], 'int32');
    const want = ref.valueAndVariableGrads(inputIds, { attentionMask });
    const t = memoryTransports(2);
    const stages = [0, 1].map((r) => new FalconH1PipelineStage(cfg, { stages: 2, stage: r, seed: SEED }));
    const outs = await Promise.all(stages.map((st, r) => pipelineValueAndGrads(st, { inputIds, attentionMask }, { microbatches: 4, transport: t[r] })));
    // float32 sums in another order, as above
    expect(Math.abs(outs[1].loss!.dataSync()[0] - want.loss.dataSync()[0]) / want.loss.dataSync()[0]).toBeLessThan(1e-5);
    for (const o of outs) for (const [k, g] of Object.entries(o.grads)) expect(relErr(values(g), values(want.grads[k])), k).toBeLessThan(1e-5);
  });

  for (const stash of ['activations', 'inputs'] as const) {
    it(`frees every tensor of the step but its results (stash ${stash}, interleaved, recompute both)`, async () => {
      const cfg = config();
      const stages = [0, 1].map((r) => new FalconH1PipelineStage(cfg, { stages: 2, stage: r, chunks: 2, seed: SEED }));
      const { inputIds } = batches().batch(0);
      const t = memoryTransports(2);
      const step = () => Promise.all(stages.map((st, r) => pipelineValueAndGrads(st, { inputIds }, { microbatches: 4, transport: t[r], stash, recompute: 'both' })));
      tf.dispose((await step()).flatMap((o) => [...Object.values(o.grads), ...(o.loss ? [o.loss] : [])])); // warm-up (lazily made constants)
      const before = tf.memory().numTensors;
      const outs = await step();
      tf.dispose(outs.flatMap((o) => [...Object.values(o.grads), ...(o.loss ? [o.loss] : [])]));
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('names a token id outside the vocabulary before anything runs', async () => {
    const st = new FalconH1PipelineStage(config(), { stages: 1, stage: 0 });
    const inputIds = tf.tensor2d([[1, 2, 40, 3]], [1, 4], 'int32');
    await expect(pipelineValueAndGrads(st, { inputIds }, { microbatches: 1, transport: memoryTransports(1)[0] })).rejects.toThrow(/pipelineValueAndGrads: token ids must be in \[0, 40\), found 40 at position 2/);
  });

  it('names the stage and microbatch whose output does not have the activation shape', async () => {
    const cfg = config();
    const t = memoryTransports(2);
    const st = new FalconH1PipelineStage(cfg, { stages: 2, stage: 0, seed: SEED });
    const { inputIds } = batches().batch(0);
    await expect(pipelineValueAndGrads(st, { inputIds }, { microbatches: 4, transport: t[0], activationShape: [1, 6, 32] })).rejects.toThrow(
      /pipeline stage 0 \(virtual stage 0 of 2\), forward of microbatch 0: the output is \[1,12,32\], the pipeline's activations are \[1,6,32\]/,
    );
  });
});
