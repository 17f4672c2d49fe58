// DP=1 against the plain trainer: a data-parallel trainer on a process group of one rank (Gloo for
// cpu tensors, NCCL for cuda tensors) must train as the plain Trainer does. Imported by the cpu test
// (data_parallel_one.test.ts); run on a GPU as a script:
//   node --import tsx packages/hybrid/test/dp/dp1_vs_plain.ts cuda [steps]
// prints one JSON line per variant and exits non-zero when one differs beyond its tolerance.
import { fileURLToPath } from 'node:url';
import { destroyProcessGroup, initProcessGroup } from '@falcon/parallel';
import { initBackend } from '@falcon/tensor';
import { DataParallelTrainer, FalconH1ForCausalLM, Trainer } from '../../src/index.js';
import { batches, CONFIG, OPTIONS } from './setup.js';

/** One variant's comparison with the plain trainer. */
export interface Dp1Result {
  zero: 0 | 1;
  /** Largest relative loss difference over the steps. */
  lossRel: number;
  /** Largest difference of a weight after the last step, relative to the tensor's largest weight. */
  paramRel: number;
  /** Whether losses and weights are bit for bit the plain trainer's. */
  exact: boolean;
}

function maxRel(a: Float32Array | number[], b: Float32Array | number[]): number {
  let d = 0;
  let s = 1e-12;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

/**
 * Train `steps` steps with the plain trainer and with the data-parallel one (ZeRO 0 and 1) on a
 * world of one rank, from the same initial weights, on the current backend.
 * @param backend - 'cpu' (Gloo) or 'cuda' (NCCL)
 * @param steps - optimizer steps
 */
export async function compareDp1(backend: 'cpu' | 'cuda', steps = 4): Promise<Dp1Result[]> {
  const options = { ...OPTIONS, steps };
  const plainModel = new FalconH1ForCausalLM(CONFIG, 1);
  const plain = new Trainer(plainModel, batches(), options, '/nonexistent');
  const plainLosses: number[] = [];
  for (let s = 0; s < steps; s++) plainLosses.push((await plain.trainStep()).loss);
  const plainParams = Object.fromEntries(await Promise.all(Object.entries(plainModel.variables()).map(async ([k, v]) => [k, (await v.data()) as Float32Array] as const)));

  const group = await initProcessGroup({ backend: backend === 'cuda' ? 'nccl' : 'gloo', rank: 0, worldSize: 1, timeoutMs: 60_000 });
  const out: Dp1Result[] = [];
  try {
    for (const zero of [0, 1] as const) {
      const model = new FalconH1ForCausalLM(CONFIG, 1);
      const dp = new DataParallelTrainer(model, batches(), options, '/nonexistent', { group, zero });
      const losses: number[] = [];
      for (let s = 0; s < steps; s++) losses.push((await dp.trainStepAsync()).loss);
      let paramRel = 0;
      let exact = losses.every((l, i) => l === plainLosses[i]);
      for (const [k, v] of Object.entries(model.variables())) {
        const got = (await v.data()) as Float32Array;
        paramRel = Math.max(paramRel, maxRel(got, plainParams[k]));
        exact &&= got.every((x, i) => x === plainParams[k][i]);
      }
      out.push({ zero, lossRel: maxRel(losses, plainLosses), paramRel, exact });
    }
  } finally {
    await destroyProcessGroup();
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const backend = (process.argv[2] ?? 'cpu') as 'cpu' | 'cuda';
  await initBackend(backend);
  const results = await compareDp1(backend, Number(process.argv[3] ?? 4));
  for (const r of results) console.log(JSON.stringify({ backend, ...r }));
  // on one rank both are the plain trainer's operations on the same numbers: bit for bit on the cpu;
  // on cuda a kernel may reduce in a varying order (atomics), so 1e-5 relative there
  const ok = results.every((r) => (backend === 'cpu' ? r.exact : r.lossRel < 1e-5 && r.paramRel < 1e-5));
  console.log(ok ? 'DP=1 vs plain: PASS' : 'DP=1 vs plain: FAIL');
  process.exit(ok ? 0 : 1);
}
