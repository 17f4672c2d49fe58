// WebGPU benchmark: the worked example kernel, rmsNorm forward and backward (`@falcon/tensor`), on
// webgpu vs cpu; ms per call, GFLOP/s (forward ≈ 4 flops per element, backward ≈ 10) and GB/s
// (forward reads x and writes y: 8 bytes per element; backward reads dy, x and writes dx: 12 + the
// dw pass 8), labelled with the adapter.
// Run: npm run bench:webgpu (or tools/with-webgpu-env.sh npx tsx benchmarks/webgpu/rms_norm.ts)
import { rmsNorm, rmsNormBackward, tf } from '@falcon/tensor';
import { randomTensor } from '@falcon/tensor/testing';
import type { Row } from '../lib/report.js';
import { writeResults } from '../lib/report.js';
import type { Runner } from './setup.js';
import { msPerCall, notes, start } from './setup.js';

// Small sizes: on a software adapter (CI machines) larger ones take minutes.
const SHAPES: [number, number][] = [
  [33, 1000],
  [128, 1024],
  [1024, 4096],
];

async function main(): Promise<void> {
  const rows: Row[] = [];
  const runners: Runner[] = [];
  for (const backend of ['webgpu', 'cpu'] as const) {
    const r = await start(backend);
    runners.push(r);
    for (const [n, dim] of SHAPES) {
      const x = randomTensor([n, dim], 1);
      const w = randomTensor([dim], 2, { mean: 1, std: 0.5 });
      const dy = randomTensor([n, dim], 3);
      const reps = backend === 'cpu' ? 2 : 4;
      const elems = n * dim;
      const fwd = await msPerCall(() => rmsNorm(x, w, 1e-5), reps);
      rows.push({ backend, adapter: r.adapter, pass: 'forward', rows: n, dim, ms: fwd, gflops: (4 * elems) / (fwd * 1e6), gbps: (8 * elems) / (fwd * 1e6) });
      const bwd = await msPerCall(() => {
        const { dx, dw } = rmsNormBackward(dy, x, w, 1e-5);
        dw.dispose();
        return dx;
      }, reps);
      console.error(`rmsNorm ${backend} [${n}, ${dim}]: forward ${fwd.toFixed(2)} ms, backward ${bwd.toFixed(2)} ms`);
      rows.push({ backend, adapter: r.adapter, pass: 'backward', rows: n, dim, ms: bwd, gflops: (10 * elems) / (bwd * 1e6), gbps: (20 * elems) / (bwd * 1e6) });
      tf.dispose([x, w, dy]);
    }
  }
  const extra = notes(runners);
  writeResults('webgpu-rms-norm', `rmsNorm forward and backward [rows, dim], float32, webgpu (${String(extra.adapter)}) vs cpu`, rows, extra);
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e);
    process.exit(1);
  },
);
