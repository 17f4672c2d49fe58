// WebGPU benchmark: tfjs's own matmul on webgpu vs the cpu backend, square float32 matrices;
// ms per product and GFLOP/s (2·n³ flops), labelled with the adapter.
// Run: npm run bench:webgpu (or tools/with-webgpu-env.sh npx tsx benchmarks/webgpu/matmul.ts)
import { tf } from '@falcon/tensor';
import { randomTensor } from '@falcon/tensor/testing';
import type { Row } from '../lib/report.js';
import { writeResults } from '../lib/report.js';
import type { Runner } from './setup.js';
import { msPerCall, notes, start } from './setup.js';

// Small sizes: on a software adapter (CI machines) larger products take minutes.
const SIZES = [64, 128, 256, 512];

async function main(): Promise<void> {
  const rows: Row[] = [];
  const runners: Runner[] = [];
  for (const backend of ['webgpu', 'cpu'] as const) {
    const r = await start(backend);
    runners.push(r);
    for (const n of SIZES) {
      const a = randomTensor([n, n], 1);
      const b = randomTensor([n, n], 2);
      const ms = await msPerCall(() => tf.matMul(a, b), backend === 'cpu' ? 1 : 4);
      console.error(`matmul ${backend} n=${n}: ${ms.toFixed(2)} ms`);
      rows.push({ backend, adapter: r.adapter, n, ms, gflops: (2 * n ** 3) / (ms * 1e6) });
      tf.dispose([a, b]);
    }
  }
  const extra = notes(runners);
  writeResults('webgpu-matmul', `matmul [n, n] × [n, n], float32, webgpu (${String(extra.adapter)}) vs cpu`, rows, extra);
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e);
    process.exit(1);
  },
);
