// The NCCL device check's entry point, bundled by tools/device/prepare-nccl.sh into
// .device/nccl-tests.mjs and run by tools/device/run-nccl.sh on the GPU machine: runs
// @falcon/parallel's NCCL checks (runNcclChecks, world size 1) on the real cuda backend and NCCL,
// prints one line per check and a summary, writes $OUT/nccl-tests.json and exits 1 if anything
// failed. `--emulate` runs it here over the host-memory emulations of the cuda and NCCL addons.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runNcclChecks } from '@falcon/parallel/testing';

async function main(): Promise<number> {
  const emulate = process.argv.includes('--emulate');
  const outDir = process.env.OUT ?? '/tmp/falcon-out';
  const { results, seconds } = await runNcclChecks({ emulate });
  const failed = results.filter((r) => !r.ok);
  const summary = { emulated: emulate, checks: results.length, failed: failed.length, seconds };
  console.log(`nccl-tests: ${summary.checks - summary.failed}/${summary.checks} passed${emulate ? ' (emulated)' : ''} in ${summary.seconds} s`);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'nccl-tests.json'), JSON.stringify({ summary, results }, null, 1));
  return failed.length ? 1 : 0;
}

if (process.argv[1] && /nccl-tests\.(ts|mjs)$/.test(process.argv[1])) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
