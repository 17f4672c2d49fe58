// The data-parallel trainer on a world of one rank (Gloo, in this process) trains as the plain
// Trainer does, bit for bit, with and without ZeRO-1: the averaged gradient of one rank is its
// gradient, the buckets copy exactly, the norm adds the squares in the plain trainer's order, and
// ZeRO-1's AdamW runs the same element-wise operations on the shards. (The same comparison runs on a
// GPU through NCCL: test/dp/dp1_vs_plain.ts cuda.)
import { expect, it } from 'vitest';
import { destroyProcessGroup, initProcessGroup } from '@falcon/parallel';
import { DataParallelTrainer, FalconH1ForCausalLM } from '../src/index.js';
import { compareDp1 } from './dp/dp1_vs_plain.js';
import { batches, CONFIG, OPTIONS } from './dp/setup.js';

it('DP=1 equals the plain trainer bit for bit (ZeRO 0 and 1; 4 steps with accumulation and clipping)', async () => {
  const [z0, z1] = await compareDp1('cpu', 4);
  expect(z0).toEqual({ zero: 0, lossRel: 0, paramRel: 0, exact: true });
  expect(z1).toEqual({ zero: 1, lossRel: 0, paramRel: 0, exact: true });
});

it('bad data-parallel options are errors before any step', async () => {
  const group = await initProcessGroup({ backend: 'gloo', rank: 0, worldSize: 1, timeoutMs: 60_000 });
  try {
    const make = (o: object) => () => new DataParallelTrainer(new FalconH1ForCausalLM(CONFIG, 1), batches(), OPTIONS, '/nonexistent', { group, ...o });
    expect(make({ zero: 2 })).toThrow(/zero must be 0 or 1, got 2/);
    expect(make({ bucketMb: 0 })).toThrow(/the bucket size must be positive, got 0 MiB/);
    expect(() => new DataParallelTrainer(new FalconH1ForCausalLM(CONFIG, 1), batches(), OPTIONS, '/nonexistent', { group }).trainStep()).toThrow(/asynchronous; use run\(\) or trainStepAsync\(\)/);
  } finally {
    await destroyProcessGroup();
  }
  expect(() => new DataParallelTrainer(new FalconH1ForCausalLM(CONFIG, 1), batches(), OPTIONS, '/nonexistent')).toThrow(/not initiali[sz]ed/i);
});
