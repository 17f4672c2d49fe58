// The CUDA device runner's test and benchmark program (bundled by tools/device/prepare.sh into
// .device/cuda-tests.mjs, run by tools/device/run-cuda.sh on the GPU machine): starts the cuda
// backend, checks that every kernel the Falcon-H1 composites trace has a cuda kernel, runs the
// self-test (every kernel against the cpu backend, gradients, memory, the bf16 products),
// measures the TF32, bf16 and exact-f32 product error, and benchmarks matrix products (and two
// memory-bound kernels) next to PyTorch's numbers from $TORCH_BENCH. Prints a table; writes JSON under --out (default $OUT).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableBackends, cudaKernelNames, initBackend, tf } from '@falcon/tensor';
import type { CaseResult } from '@falcon/tensor/testing';
import { registerEmulatedCudaBackend, runCudaSelfTest, traceKernels } from '@falcon/tensor/testing';
import { benchComposites, benchMatmul, benchMemoryBound, benchOverhead } from '../../benchmarks/cuda/bench.js';
import type { Timing } from '../../benchmarks/cuda/bench.js';

const args = process.argv.slice(2);
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : (process.env.OUT ?? '/tmp/falcon-out');
const filter = args.includes('--filter') ? args[args.indexOf('--filter') + 1] : undefined;
const emulate = args.includes('--emulate'); // check this program here, over the host-memory emulation of the addon
const skipBench = args.includes('--no-bench') || emulate;
mkdirSync(outDir, { recursive: true });

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  return Math.abs(x) >= 0.01 && Math.abs(x) < 1e4 ? x.toFixed(3) : x.toExponential(2);
}

async function main(): Promise<number> {
  const started = new Date().toISOString();
  let info: { info?: Record<string, unknown> };
  if (emulate) {
    registerEmulatedCudaBackend();
    await tf.setBackend('cuda');
    info = { info: { name: 'emulated addon (host memory)' } };
  } else {
    const status = (await availableBackends()).find((s) => s.name === 'cuda')!;
    if (!status.available) {
      console.log(`cuda backend unavailable: ${status.reason}`);
      writeFileSync(join(outDir, 'cuda-selftest.json'), JSON.stringify({ started, available: false, reason: status.reason }, null, 1));
      return 2;
    }
    info = await initBackend('cuda');
  }
  console.log(`cuda backend: ${JSON.stringify(info.info)}`);

  await tf.setBackend('cpu');
  const traced = [...traceKernels().keys()].sort();
  const have = new Set(cudaKernelNames());
  const missing = traced.filter((k) => !have.has(k));
  console.log(`kernels traced from the Falcon-H1 composites + AdamW: ${traced.length}; without a cuda kernel: ${missing.length ? missing.join(', ') : 'none'}`);
  await tf.setBackend('cuda');

  const t0 = Date.now();
  const results = await runCudaSelfTest({
    filter,
    onResult: (r) => {
      if (!r.ok) console.log(`FAIL ${r.group} | ${r.name} | ${r.note}`);
    },
  });
  const seconds = (Date.now() - t0) / 1000;

  // Per-group summary table.
  const groups = new Map<string, CaseResult[]>();
  for (const r of results) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  const lines: string[] = [];
  lines.push('| group | cases | passed | worst error (tolerance) |', '| --- | --- | --- | --- |');
  for (const [g, rs] of groups) {
    const worst = rs.reduce((w, r) => (r.err / Math.max(r.tol, 1e-30) > w.err / Math.max(w.tol, 1e-30) ? r : w), rs[0]);
    lines.push(`| ${g} | ${rs.length} | ${rs.filter((r) => r.ok).length} | ${fmt(worst.err)} (${fmt(worst.tol)}) ${worst.name} |`);
  }
  const precision = results.filter((r) => r.name.includes('vs float64 reference'));
  for (const r of precision) lines.push(`| matmul precision | ${r.name} | ${r.ok ? 'ok' : 'FAIL'} | ${fmt(r.err)} |`);

  let bench: Record<string, unknown> = {};
  if (!skipBench) {
    const ours: Record<string, Timing> = {};
    for (const n of [4096, 8192]) Object.assign(ours, await benchMatmul(n));
    const memBound = await benchMemoryBound();
    const overhead = await benchOverhead();
    const comp = await benchComposites();
    let torch: Record<string, { ms: number; tflops: number }> = {};
    if (process.env.TORCH_BENCH) {
      try {
        torch = JSON.parse(readFileSync(process.env.TORCH_BENCH, 'utf8'));
      } catch (e) {
        console.log(`no PyTorch numbers: ${(e as Error).message}`);
      }
    }
    lines.push('', '| matmul (median of 10, CUDA events) | ours ms | ours TFLOP/s | torch ms | torch TFLOP/s |', '| --- | --- | --- | --- | --- |');
    for (const [k, v] of Object.entries(ours)) {
      const t = torch[k];
      lines.push(`| ${k} | ${fmt(v.ms)} | ${fmt(v.rate)} | ${t ? fmt(t.ms) : '-'} | ${t ? fmt(t.tflops) : '-'} |`);
    }
    lines.push('', '| other (median, CUDA events) | ms | rate |', '| --- | --- | --- |');
    for (const [k, v] of Object.entries({ ...memBound, ...overhead, ...comp })) lines.push(`| ${k} | ${fmt(v.ms)} | ${fmt(v.rate)} ${v.unit} |`);
    bench = { matmul: ours, torch, memoryBound: memBound, overhead, composites: comp };
  }
  const mem = tf.memory() as unknown as Record<string, number>;
  const report = {
    started,
    device: info.info,
    node: process.version,
    seconds,
    kernelsTraced: traced,
    kernelsMissing: missing,
    cudaKernels: [...have].sort(),
    passed: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok).length,
    results,
    bench,
    memoryAtEnd: { numTensors: mem.numTensors, bytesInUse: mem.bytesInUse, bytesCached: mem.bytesCached, peakBytesInUse: mem.peakBytesInUse },
  };
  writeFileSync(join(outDir, 'cuda-selftest.json'), JSON.stringify(report, null, 1));
  writeFileSync(join(outDir, 'cuda-table.md'), lines.join('\n') + '\n');
  console.log(`\nself-test: ${report.passed} passed, ${report.failed} failed, ${results.length} cases in ${seconds.toFixed(1)} s`);
  console.log(lines.join('\n'));
  return report.failed || missing.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(3);
  },
);
