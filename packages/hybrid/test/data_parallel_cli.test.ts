// `falcon train --nproc-per-node 2 --dp 2` as a user runs it (a real CLI process that re-launches
// itself in two workers): 20 steps of the tiny preset give the losses of the same command without
// --dp, which runs here in this process.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../../../tsconfig.dev.json', import.meta.url));
const ARGS = ['--steps', '20', '--json'];

const losses = (lines: string[]) => lines.filter((l) => l.includes('"step"')).map((l) => (JSON.parse(l.slice(l.indexOf('{'))) as { loss: number }).loss);

it('20 steps of the tiny preset under --nproc-per-node 2 --dp 2 give the DP=1 losses', async () => {
  const p = spawn(process.execPath, ['--import', 'tsx', CLI, 'train', '--nproc-per-node', '2', '--dp', '2', ...ARGS, '--out', mkdtempSync(join(tmpdir(), 'falcon-cli-dp2-'))], {
    env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  p.stdout.on('data', (c: Buffer) => (out += c.toString()));
  p.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  const single: string[] = [];
  const code1 = await main(['train', ...ARGS, '--out', mkdtempSync(join(tmpdir(), 'falcon-cli-dp1-'))], (s) => single.push(s), () => {});
  const code2 = await exited;
  expect(code1).toBe(0);
  expect(code2, err).toBe(0);
  const lines = out.split('\n');
  // only rank 0 reports, each line prefixed with its rank
  expect(lines.filter((l) => l.startsWith('[rank 1]'))).toEqual([]);
  const dp = losses(lines);
  const ref = losses(single);
  expect(ref).toHaveLength(20);
  expect(dp).toHaveLength(20);
  // float32 rounding of the averaged gradient, amplified a little by 20 AdamW steps: 1e-4 relative
  for (let i = 0; i < 20; i++) expect(Math.abs(dp[i] - ref[i]) / ref[i], `step ${i + 1}`).toBeLessThan(1e-4);
}, 300_000);
