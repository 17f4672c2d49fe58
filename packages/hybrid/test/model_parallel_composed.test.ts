// The composed layouts with real processes (Gloo over loopback, world 4): TP2×PP2, TP2×CP2,
// DP2×TP2 and CP2×PP2, each with n_groups 1 and n_groups 2 (BitNet layers on in one of each,
// SP in some; a left- and right-padded batch under TP2×CP2 and CP2×PP2; under TP2×CP2 a routed
// head split whose Mamba-2 heads span a rank's groups unevenly, in both Mamba-2 modes): the loss, every rank's
// gradient pieces and the global gradient norm equal the one-rank model's (each worker process
// computes the one-rank result from the same seed and checks its own pieces). One launch of the
// workers per layout runs its cases.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FalconH1ForCausalLM } from '../src/index.js';
import { launchWorkers } from './helpers/launch_workers.js';
import { configOf, LAYOUTS, SEED } from './mp/cases.js';

const WORKER = new URL('./mp/worker.ts', import.meta.url);

type Dump = { rank: number; results: Array<{ name: string; lossErr: number | null; worst: [string, number]; normErr: number; checked: string[]; failures: string[] }> };

describe('composed model parallelism (4 processes, Gloo)', () => {
  for (const [name, layout] of Object.entries(LAYOUTS)) {
    it(`${name}: loss, every gradient and the gradient norm equal one rank (${layout.cases.map((c) => c.name).join('; ')})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'falcon-mp-'));
      const r = await launchWorkers(WORKER, 4, ['grads', dir, name]);
      expect(r.exitCode, r.out).toBe(0);
      const dumps = Array.from({ length: 4 }, (_, k) => JSON.parse(readFileSync(join(dir, `rank${k}.json`), 'utf8')) as Dump);
      layout.cases.forEach((c, i) => {
        for (const d of dumps) expect(d.results[i].failures, `${c.name}, rank ${d.rank}`).toEqual([]);
        // some rank of the last stage checked the loss
        expect(dumps.some((d) => d.results[i].lossErr !== null), c.name).toBe(true);
        // every parameter of the model is checked on some rank
        const seen = new Set(dumps.flatMap((d) => d.results[i].checked));
        const model = new FalconH1ForCausalLM(configOf(c), SEED);
        expect([...seen].sort(), c.name).toEqual([...model.stateDictShapes().keys()].sort());
        model.dispose();
      });
    }, 180_000);
  }
});
