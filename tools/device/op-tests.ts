// The op-kernel test of the CUDA device runner: the cases of packages' test/cuda/cases.ts — each
// op's cuda kernel (forward, and backward through the op's gradient) against its cpu kernel on the
// same seeded inputs of awkward sizes, compared by relative error. Prints a line per case and a
// table per op; writes <out>/op-tests.json and op-table.md. Entry points: op-tests-all.ts (every
// package; bundled by prepare.sh) and the one-package bundles of prepare-ops.sh; run by run-ops.sh.
// Arguments: --out DIR, --package mamba2[,attention], --filter TEXT.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableBackends, initBackend, tf } from '@falcon/tensor';
import type { OpCase, OpCaseResult } from '@falcon/tensor/testing';
import { compareBackends } from '@falcon/tensor/testing';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined);
const outDir = arg('out') ?? process.env.OUT ?? '/tmp/falcon-out';
const packages = arg('package')?.split(',');
const filter = arg('filter');

const fmt = (x: number | undefined) => (x === undefined ? '-' : x === 0 ? '0' : x.toExponential(2));

async function main(ALL: Record<string, OpCase[]>): Promise<number> {
  mkdirSync(outDir, { recursive: true });
  const status = (await availableBackends()).find((s) => s.name === 'cuda')!;
  if (!status.available) {
    console.log(`cuda backend unavailable: ${status.reason}`);
    return 2;
  }
  const info = await initBackend('cuda', { matmulPrecision: 'f32' });
  console.log(`cuda backend: ${JSON.stringify(info.info)}`);
  await tf.setBackend('cpu');
  const rows: (OpCaseResult & { package: string })[] = [];
  const t0 = Date.now();
  for (const [pkg, cases] of Object.entries(ALL)) {
    if (packages && !packages.includes(pkg)) continue;
    for (const c of cases) {
      if (filter && !c.name.includes(filter)) continue;
      const r = await compareBackends(c, 'cpu', 'cuda');
      rows.push({ package: pkg, ...r });
      const errs = [...Object.entries(r.outputs), ...Object.entries(r.grads).map(([k, v]) => [`d${k}`, v] as const)].map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
      console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${pkg} | ${r.name} | ${r.error ? `ERROR ${r.error}` : errs} | tol ${fmt(c.tol)}/${fmt(c.gradTol ?? c.tol)} | ${r.targetMs.toFixed(0)} ms`);
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  // One table row per op (the case name's first word).
  const byOp = new Map<string, (OpCaseResult & { package: string })[]>();
  for (const r of rows) {
    const op = `${r.package} ${r.name.split(' ')[0]}`;
    byOp.set(op, [...(byOp.get(op) ?? []), r]);
  }
  const lines = ['| package op | cases | passed | worst output error | worst gradient error |', '| --- | --- | --- | --- | --- |'];
  for (const [op, rs] of byOp) {
    const wo = Math.max(0, ...rs.flatMap((r) => Object.values(r.outputs)));
    const wg = Math.max(0, ...rs.flatMap((r) => Object.values(r.grads)));
    lines.push(`| ${op} | ${rs.length} | ${rs.filter((r) => r.ok).length} | ${fmt(wo)} | ${rs.some((r) => Object.keys(r.grads).length) ? fmt(wg) : '-'} |`);
  }
  const failed = rows.filter((r) => !r.ok).length;
  console.log(`\nop tests: ${rows.length - failed} passed, ${failed} failed, ${rows.length} cases in ${seconds.toFixed(1)} s`);
  console.log(lines.join('\n'));
  writeFileSync(join(outDir, 'op-tests.json'), JSON.stringify({ started: new Date(t0).toISOString(), device: info.info, seconds, passed: rows.length - failed, failed, rows }, null, 1));
  writeFileSync(join(outDir, 'op-table.md'), lines.join('\n') + '\n');
  return failed ? 1 : 0;
}

/** Runs the cases of each package (keyed by package name) and exits with 0 when all pass. */
export function runOpTests(cases: Record<string, OpCase[]>): void {
  main(cases).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(3);
    },
  );
}
