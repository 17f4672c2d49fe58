// A context-parallel worker (started by launch(); RANK, WORLD_SIZE, ... set): runs every case of
// $CP_CASES (JSON: CpCase[]) under CP = WORLD_SIZE and writes <outDir>/rank<r>.json with, per case,
// the loss and every gradient summed over the group (contextParallelValueAndGrads).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { destroyProcessGroup, initProcessGroup } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import { contextParallelValueAndGrads } from '../../src/index.js';
import type { CpCase } from './setup.js';
import { cpBatch, cpModel, cpPadding } from './setup.js';

const outDir = process.argv[2];
const cases = JSON.parse(process.env.CP_CASES ?? '[]') as CpCase[];
const group = await initProcessGroup({ backend: 'gloo', timeoutMs: 30_000 });
const results = [];
for (const c of cases) {
  const model = cpModel(c);
  const batch = cpBatch(c.batch, c.seqlen, model.config.base.vocab_size);
  const padded = cpPadding(c, batch.labels);
  const [ids, labels] = [batch.ids, padded?.labels ?? batch.labels];
  const { loss, grads } = await contextParallelValueAndGrads(model, ids, { group, labels, attentionMask: padded?.mask, mambaMode: c.mode, recompute: c.recompute, reduce: c.reduce, overlap: c.overlap });
  results.push({ loss: loss.dataSync()[0], grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Array.from(g.dataSync())])) });
  tf.dispose([loss, batch.ids, batch.labels, ...(padded ? [padded.mask, padded.labels] : []), ...Object.values(grads)]);
  model.dispose();
}
writeFileSync(join(outDir, `rank${group.rank}.json`), JSON.stringify(results));
await destroyProcessGroup();
