// `falcon train --tp 2 --pp 2 --microbatches 2 --nproc-per-node 4` as a user runs it (a real CLI
// process that re-launches itself in four workers): its losses are those of the same command in one
// process; the run directory's distributed checkpoint exports to a Hugging Face checkpoint that
// `falcon generate` runs; bad layouts are refused before any process starts.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../../../tsconfig.dev.json', import.meta.url));
const ARGS = ['--steps', '4', '--batch-size', '4', '--seqlen', '32', '--json'];

const losses = (lines: string[]) => lines.filter((l) => l.includes('"step"')).map((l) => (JSON.parse(l.slice(l.indexOf('{'))) as { loss: number }).loss);

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (c: Buffer) => (out += c.toString()));
  p.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  return { code, out, err };
}

const MP = ['--tp', '2', '--pp', '2', '--microbatches', '2', '--nproc-per-node', '4'];

describe('falcon train under model parallelism', () => {
  let uninterrupted: number[] = [];
  it('--tp 2 --pp 2 --microbatches 2 --nproc-per-node 4: the one-process losses; export and generate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'falcon-cli-mp-'));
    const run = cli(['train', ...MP, ...ARGS, '--out', dir]);
    const single: string[] = [];
    const code1 = await main(['train', ...ARGS, '--out', mkdtempSync(join(tmpdir(), 'falcon-cli-mp1-'))], (s) => single.push(s), () => {});
    const r = await run;
    expect(code1).toBe(0);
    expect(r.code, r.err + r.out).toBe(0);
    const lines = r.out.split('\n');
    // only global rank 0 reports
    expect(lines.filter((l) => l.includes('"step"') && !l.startsWith('[rank 0]'))).toEqual([]);
    const mp = losses(lines);
    const ref = losses(single);
    expect(ref).toHaveLength(4);
    expect(mp).toHaveLength(4);
    // float32, other summation orders (microbatches, vocab shards), through 4 AdamW steps
    for (let i = 0; i < 4; i++) expect(Math.abs(mp[i] - ref[i]) / ref[i], `step ${i + 1}`).toBeLessThan(1e-5);
    uninterrupted = mp;
    const hf = join(dir, 'hf');
    const msgs: string[] = [];
    expect(await main(['export', '--from', dir, '--out', hf], (s) => msgs.push(s), (s) => msgs.push(s))).toBe(0);
    const gen: string[] = [];
    expect(await main(['generate', '--model', hf, '--prompt', 'The', '--max-new-tokens', '4'], (s) => gen.push(s), (s) => gen.push(s)), gen.join('\n')).toBe(0);
  }, 300_000);

  it('a run killed right after its step-2 checkpoint resumes with --resume to the uninterrupted losses', async () => {
    expect(uninterrupted).toHaveLength(4);
    const dir = mkdtempSync(join(tmpdir(), 'falcon-cli-mp-kill-'));
    const killed = await cli(['train', ...MP, ...ARGS, '--save-every', '2', '--out', dir], { FALCON_TEST_KILL_AT: 'after-commit@2' });
    expect(killed.code).not.toBe(0);
    expect(losses(killed.out.split('\n'))).toEqual(uninterrupted.slice(0, 2));
    const resumed = await cli(['train', ...MP, '--json', '--resume', dir]);
    expect(resumed.code, resumed.err + resumed.out).toBe(0);
    // exact: the same arithmetic from the same weights, moments and data position
    expect(losses(resumed.out.split('\n'))).toEqual(uninterrupted.slice(2));
  }, 300_000);

  it('refuses a layout that is not the number of processes, before any process starts', async () => {
    const errs: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'falcon-cli-mp-bad-'));
    expect(await main(['train', '--tp', '2', '--cp', '2', '--pp', '2', '--nproc-per-node', '4', '--out', dir], () => {}, (s) => errs.push(s))).toBe(2);
    expect(errs.join('\n')).toMatch(/--tp 2 × --cp 2 × --pp 2 × --dp \? must equal the number of processes \(4\)/);
    errs.length = 0;
    expect(await main(['train', '--cp', '2', '--seqlen', '30', '--nproc-per-node', '2', '--out', dir], () => {}, (s) => errs.push(s))).toBe(2);
    expect(errs.join('\n')).toMatch(/--seqlen 30 must be divisible by 2·cp = 4/);
    errs.length = 0;
    expect(await main(['train', '--sp', '--nproc-per-node', '2', '--out', dir], () => {}, (s) => errs.push(s))).toBe(2);
    expect(errs.join('\n')).toMatch(/--sp .* needs --tp 2 or more/);
    errs.length = 0;
    expect(await main(['train', '--tp', '2', '--steps', '1', '--out', dir], () => {}, (s) => errs.push(s))).toBe(2);
    expect(errs.join('\n')).toMatch(/run in worker processes: add --nproc-per-node 2/);
    const help: string[] = [];
    await main(['train', '--help'], (s) => help.push(s), (s) => help.push(s));
    expect(help.join('\n')).toMatch(/--tp N[\s\S]*--cp N[\s\S]*--pp N[\s\S]*--sp[\s\S]*--microbatches M/);
  });
});
