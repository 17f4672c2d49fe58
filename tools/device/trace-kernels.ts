// Lists the tfjs kernels the Falcon-H1 forward, backward and AdamW step call, by running the
// composites of packages/tensor/src/testing/cuda_selftest/composites.ts on the cpu backend and
// recording every kernel the tfjs engine dispatches, and says which of them the cuda backend has.
// Run: node --import tsx tools/device/trace-kernels.ts [--json]
import { cudaKernelNames, initBackend } from '@falcon/tensor';
import { traceKernels } from '@falcon/tensor/testing';

await initBackend('cpu');
const trace = traceKernels();
const have = new Set(cudaKernelNames());
const rows = [...trace.entries()].sort(([a], [b]) => a.localeCompare(b));
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(Object.fromEntries(rows.map(([k, v]) => [k, { phases: [...v], cuda: have.has(k) }])), null, 1));
} else {
  console.log(`${rows.length} kernels traced; ${rows.filter(([k]) => !have.has(k)).length} without a cuda kernel`);
  for (const [k, v] of rows) console.log(`${k.padEnd(22)} ${have.has(k) ? 'cuda' : 'MISSING'}  ${[...v].join(', ')}`);
}
