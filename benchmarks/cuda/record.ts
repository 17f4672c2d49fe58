// Records a CUDA device run: reads the folder the device tool copied back (cuda-selftest.json,
// cuda-table.md, log) and writes benchmarks/results/cuda-<name>.json (date, device, commit, every
// case, the benchmark numbers) and cuda-<name>.md (the printed table).
// Run: node --import tsx benchmarks/cuda/record.ts <folder> [name]   (name defaults to "h200")
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR } from '../lib/report.js';

const [dir, name = 'h200'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node --import tsx benchmarks/cuda/record.ts <folder with cuda-selftest.json> [name]');
  process.exit(1);
}
const report = JSON.parse(readFileSync(join(dir, 'cuda-selftest.json'), 'utf8'));
const table = readFileSync(join(dir, 'cuda-table.md'), 'utf8');
const log = readFileSync(join(dir, 'log'), 'utf8');
const git = (cmd: string) => {
  try {
    return execSync(cmd, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
};
const commit = git('git rev-parse --short HEAD');
const dirty = git('git status --porcelain -- packages/tensor tools benchmarks/cuda') !== '';
const machineLine = log.split('\n').find((l) => l.includes('NVIDIA') && l.includes('MiB')) ?? '';
const record = {
  name: `cuda-${name}`,
  title: 'CUDA backend of @falcon/tensor: self-test against the cpu backend and benchmarks',
  date: report.started,
  device: report.device,
  nvidiaSmi: machineLine.trim(),
  commit: dirty ? `${commit} + uncommitted changes` : commit,
  node: report.node,
  ...report,
};
writeFileSync(join(RESULTS_DIR, `cuda-${name}.json`), JSON.stringify(record, null, 1) + '\n');
const md = [
  `# CUDA backend on ${report.device?.name ?? 'a GPU'}: self-test and benchmarks`,
  '',
  `Date ${report.started}; device ${JSON.stringify(report.device)}; nvidia-smi: ${machineLine.trim()}; commit ${record.commit}; Node ${report.node}.`,
  `Self-test: ${report.passed} passed, ${report.failed} failed (every cuda kernel against the cpu backend; gradients; memory).`,
  `Kernels traced from the Falcon-H1 composites + AdamW: ${report.kernelsTraced.length}; without a cuda kernel: ${report.kernelsMissing.length ? report.kernelsMissing.join(', ') : 'none'}.`,
  '',
  table,
];
writeFileSync(join(RESULTS_DIR, `cuda-${name}.md`), md.join('\n'));
console.log(`wrote ${join(RESULTS_DIR, `cuda-${name}.json`)} and .md`);
