// Context parallelism of the whole Falcon-H1 model with real processes (Gloo over loopback, the
// workers started by launch()): under CP2 and CP4 the loss and every gradient summed over the
// group equal one rank's, for nGroups 1 and 2, with BitNet layers, for chunk lengths that are and
// are not multiples of the Mamba-2 chunk size, in both Mamba-2 modes (state passing, all-to-all
// over heads), with left and right padding masks. The one-rank reference is
// model.valueAndVariableGrads on the whole batch.
import { describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import { runCp } from './cp/run.js';
import type { CpResult } from './cp/run.js';
import type { CpCase } from './cp/setup.js';
import { cpBatch, cpModel, cpPadding } from './cp/setup.js';

function reference(c: CpCase): CpResult {
  const model = cpModel(c);
  const batch = cpBatch(c.batch, c.seqlen, model.config.base.vocab_size);
  const padded = cpPadding(c, batch.labels);
  const { loss, grads } = model.valueAndVariableGrads(batch.ids, { labels: padded?.labels ?? batch.labels, attentionMask: padded?.mask });
  const out = { loss: loss.dataSync()[0], grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Array.from(g.dataSync())])) };
  tf.dispose([loss, batch.ids, batch.labels, ...(padded ? [padded.mask, padded.labels] : []), ...Object.values(grads)]);
  model.dispose();
  return out;
}

/**
 * max |a − b| / max(max |b|, 1e-3) over one tensor. The floor: a few gradients are tiny sums of
 * large terms that cancel (the last layer's A_log: entries ~1e-4 from terms ~1e-1), where float32
 * leaves ~1e-9 absolute whatever the order of the sums; the other gradients are ~1e-2 to 1.
 */
function relErr(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let s = 1e-3;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

function expectSame(ranks: CpResult[][], cases: CpCase[]): void {
  cases.forEach((c, i) => {
    const ref = reference(c);
    const what = JSON.stringify(c);
    // unreduced: the test sums the ranks' shares
    const sum = (rs: CpResult[]): CpResult => ({
      loss: rs.reduce((a, r) => a + r.loss, 0),
      grads: Object.fromEntries(Object.keys(rs[0].grads).map((k) => [k, rs[0].grads[k].map((_, j) => rs.reduce((a, r) => a + r.grads[k][j], 0))])),
    });
    const results = c.reduce === false ? [sum(ranks.map((r) => r[i]))] : ranks.map((r) => r[i]);
    for (const got of results) {
      // float32 on cpu: the ring and the state passing sum in another order than one rank (~1e-7 per op)
      expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss), `loss ${what}`).toBeLessThan(1e-5);
      expect(Object.keys(got.grads).sort()).toEqual(Object.keys(ref.grads).sort());
      // each gradient relative to its largest entry: float32 sums in another order, ~1e-6 observed
      for (const [k, g] of Object.entries(ref.grads)) expect(relErr(got.grads[k], g), `${k} ${what}`).toBeLessThan(1e-5);
    }
  });
}

/** Cases i and j (the same case with and without overlap) gave the same loss and gradients, bit for bit, on every rank. */
function expectBitIdentical(ranks: CpResult[][], i: number, j: number): void {
  for (const r of ranks) {
    expect(r[i].loss).toBe(r[j].loss);
    for (const k of Object.keys(r[j].grads)) expect(r[i].grads[k], k).toEqual(r[j].grads[k]);
  }
}

const base = { batch: 2, seed: 3 } as const;

describe('context parallelism of Falcon-H1 (Gloo, real processes)', () => {
  it('CP2 equals one rank: state passing and all-to-all, nGroups 1, 2 and 3, BitNet, recomputation, chunks of 3 and 4 tokens', async () => {
    const cases: CpCase[] = [
      { ...base, nGroups: 1, bitnet: false, seqlen: 12, mode: 'state-passing' },
      { ...base, nGroups: 2, bitnet: false, seqlen: 16, mode: 'state-passing' },
      { ...base, nGroups: 2, bitnet: true, seqlen: 12, mode: 'state-passing' },
      { ...base, nGroups: 1, bitnet: false, seqlen: 12, mode: 'all-to-all' },
      { ...base, nGroups: 2, bitnet: true, seqlen: 16, mode: 'all-to-all' },
      // 6 heads in 3 groups over 2 ranks: each rank's 3 heads straddle groups (B/C per head)
      { ...base, nGroups: 3, bitnet: false, mambaHeads: 6, seqlen: 12, mode: 'all-to-all' },
      // selective recomputation re-runs the exchanges inside the backward
      { ...base, nGroups: 1, bitnet: false, seqlen: 12, mode: 'state-passing', recompute: 'both' },
      // whole-layer recomputation keeps the context-parallel cores (the layer's other inputs)
      { ...base, nGroups: 2, bitnet: false, seqlen: 12, mode: 'all-to-all', recompute: 'layer' },
      { ...base, nGroups: 2, bitnet: false, seqlen: 12, mode: 'all-to-all', reduce: false },
      // the ring without overlap (each shift waited for before the compute): the same bits as case 1
      { ...base, nGroups: 2, bitnet: false, seqlen: 16, mode: 'state-passing', overlap: false },
      { ...base, nGroups: 1, bitnet: false, seqlen: 12, mode: 'state-passing', recompute: 'both', overlap: false },
      // padding masks: left padding of 5 and 2 tokens (rank 0's first chunk of 3 is all padding in row 0), in both Mamba-2 modes
      { ...base, nGroups: 1, bitnet: false, seqlen: 12, mode: 'state-passing', pad: [5, 2] },
      { ...base, nGroups: 2, bitnet: false, seqlen: 16, mode: 'all-to-all', pad: [7, 0] },
      // right padding, and left padding with layer recomputation
      { ...base, nGroups: 2, bitnet: true, seqlen: 12, mode: 'state-passing', pad: [{ right: 4 }, 1] },
      { ...base, nGroups: 1, bitnet: false, seqlen: 12, mode: 'all-to-all', pad: [3, 6], recompute: 'layer' },
    ];
    const ranks = await runCp(2, cases);
    expectSame(ranks, cases);
    expectBitIdentical(ranks, 1, 9);
    expectBitIdentical(ranks, 6, 10);
  }, 240_000);

  it('CP4 equals one rank: state passing and all-to-all, nGroups 1 and 2, BitNet, chunks of 3 and 4 tokens', async () => {
    const cases: CpCase[] = [
      { ...base, nGroups: 1, bitnet: false, seqlen: 24, mode: 'state-passing' },
      { ...base, nGroups: 2, bitnet: true, seqlen: 32, mode: 'state-passing' },
      { ...base, nGroups: 2, bitnet: false, seqlen: 24, mode: 'all-to-all' },
      { ...base, nGroups: 1, bitnet: true, seqlen: 32, mode: 'all-to-all' },
      { ...base, nGroups: 1, bitnet: false, seqlen: 24, mode: 'state-passing', overlap: false },
      // left padding over two whole chunks of 3 (and part of a third), and right padding
      { ...base, nGroups: 2, bitnet: false, seqlen: 24, mode: 'state-passing', pad: [8, { right: 5 }] },
    ];
    const ranks = await runCp(4, cases);
    expectSame(ranks, cases);
    expectBitIdentical(ranks, 0, 4);
  }, 300_000);
});
