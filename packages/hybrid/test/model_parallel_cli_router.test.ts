// `falcon train --cp-mamba-mode` and `--router` as a user runs them (real CLI processes that re-launch
// themselves in workers), on the tiny preset (4 attention and 4 Mamba-2 heads per layer):
// TP2 × CP2 with the all-to-all Mamba-2 mode, and TP3 with the routed (uneven) head split, give the
// one-process losses; the split and the mode are recorded in the distributed checkpoint's
// layout.json, so a resume under the same --tp keeps the split (the even one would be refused) and a
// resume under another --tp re-shards to its own; bad flags are refused before any process starts.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { readDistributedCheckpoint } from '../src/train/distributed_checkpoint/manifest.js';
import { falcon } from './cli_process.js';

const ARGS = ['--steps', '4', '--batch-size', '4', '--seqlen', '32', '--json'];
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `falcon-cli-${name}-`));
const losses = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.includes('"step"'))
    .map((l) => (JSON.parse(l.slice(l.indexOf('{'))) as { loss: number }).loss);
/** float32, other summation orders (head and vocab shards, CP chunks), through 4 AdamW steps (as model_parallel_cli.test.ts). */
const TOL = 1e-5;
const close = (got: number[], want: number[]) => {
  expect(got).toHaveLength(want.length);
  got.forEach((l, i) => expect(Math.abs(l - want[i]) / want[i], `step ${i + 1}: ${l} vs ${want[i]}`).toBeLessThan(TOL));
};
const recorded = async (dir: string) => (await readDistributedCheckpoint(dir)).manifest.state.info as { splits: Array<{ attention: number[]; mamba: number[] }>; router?: boolean; mambaMode: string };

describe('falcon train --cp-mamba-mode / --router', () => {
  let ref: number[] = [];

  it('--tp 2 --cp 2 --cp-mamba-mode all-to-all: the one-process losses; the mode recorded', async () => {
    const dir = tmp('a2a');
    const run = falcon(['train', '--tp', '2', '--cp', '2', '--cp-mamba-mode', 'all-to-all', '--nproc-per-node', '4', ...ARGS, '--out', dir]);
    const single: string[] = [];
    expect(await main(['train', ...ARGS, '--out', tmp('one')], (s) => single.push(s), () => {})).toBe(0);
    ref = losses(single.join('\n'));
    expect(ref).toHaveLength(4);
    const r = await run;
    expect(r.code, r.stderr + r.stdout).toBe(0);
    close(losses(r.stdout), ref);
    const info = await recorded(dir);
    expect(info.mambaMode).toBe('all-to-all');
    expect(info.splits).toEqual([0, 1].map(() => ({ attention: [2, 2], mamba: [2, 2] })));
  }, 300_000);

  it('--tp 3 --router (4 heads of each kind): the one-process losses; resumed under --tp 3 with the recorded split, and re-sharded under --tp 2', async () => {
    expect(ref).toHaveLength(4);
    const dir = tmp('router');
    const killed = await falcon(['train', '--tp', '3', '--router', '--nproc-per-node', '3', ...ARGS, '--save-every', '2', '--out', dir], { FALCON_TEST_KILL_AT: 'after-commit@2' });
    expect(killed.code).not.toBe(0);
    close(losses(killed.stdout), ref.slice(0, 2));
    const info = await recorded(dir);
    expect(info.router).toBe(true);
    expect(info.splits).toHaveLength(2);
    for (const s of info.splits) {
      for (const c of [s.attention, s.mamba]) {
        expect(c).toHaveLength(3);
        expect(c.reduce((a, b) => a + b, 0)).toBe(4);
        expect(Math.min(...c)).toBeGreaterThanOrEqual(1);
      }
    }
    const other = tmp('router-tp2');
    cpSync(dir, other, { recursive: true });
    // no --router: the even split of 4 heads over 3 ranks is refused on a fresh run; the resume keeps the run's
    const [same, resharded] = await Promise.all([
      falcon(['train', '--tp', '3', '--nproc-per-node', '3', '--json', '--resume', dir]),
      falcon(['train', '--tp', '2', '--nproc-per-node', '2', '--json', '--resume', other]),
    ]);
    expect(same.code, same.stderr + same.stdout).toBe(0);
    close(losses(same.stdout), ref.slice(2));
    expect(await recorded(dir)).toMatchObject({ splits: info.splits, router: true });
    expect(resharded.code, resharded.stderr + resharded.stdout).toBe(0);
    close(losses(resharded.stdout), ref.slice(2));
    expect((await recorded(other)).splits).toEqual([0, 1].map(() => ({ attention: [2, 2], mamba: [2, 2] })));
  }, 300_000);

  it('refuses bad --cp-mamba-mode / --router flags before any process starts, and lists them in --help', async () => {
    const dir = tmp('bad');
    const refused = async (args: string[]) => {
      const errs: string[] = [];
      expect(await main(['train', ...args, '--out', dir], () => {}, (s) => errs.push(s))).toBe(2);
      return errs.join('\n');
    };
    expect(await refused(['--cp', '2', '--cp-mamba-mode', 'ring', '--nproc-per-node', '2'])).toMatch(/--cp-mamba-mode must be state-passing or all-to-all, got 'ring'/);
    expect(await refused(['--cp-mamba-mode', 'all-to-all', '--nproc-per-node', '1'])).toMatch(/--cp-mamba-mode .* needs --cp 2 or more/);
    expect(await refused(['--router', '--nproc-per-node', '1'])).toMatch(/--router .* needs --tp 2 or more/);
    expect(await refused(['--tp', '1', '--router', '--nproc-per-node', '1'])).toMatch(/--router .* needs --tp 2 or more/);
    expect(await refused(['--tp', '3', '--nproc-per-node', '3'])).toMatch(/--tp 3: layer 0's 4 attention and 4 Mamba-2 heads do not divide by 3; add --router/);
    expect(await refused(['--tp', '5', '--router', '--nproc-per-node', '5'])).toMatch(/--tp 5: layer 0 has only 4 attention heads/);
    // the routed split of 4 Mamba-2 heads over 3 ranks has a rank of one head: not divisible by cp 2
    expect(await refused(['--tp', '3', '--cp', '2', '--router', '--cp-mamba-mode', 'all-to-all', '--nproc-per-node', '6'])).toMatch(/--cp-mamba-mode all-to-all: layer 0 puts 1 Mamba-2 heads on TP rank \d, not divisible by --cp 2; use --cp-mamba-mode state-passing/);
    // in a worker too (started by a launcher: WORLD_SIZE set), before the backend starts
    process.env.WORLD_SIZE = '3';
    try {
      expect(await refused(['--tp', '3'])).toMatch(/add --router/);
    } finally {
      delete process.env.WORLD_SIZE;
    }
    const help: string[] = [];
    await main(['train', '--help'], (s) => help.push(s), (s) => help.push(s));
    expect(help.join('\n')).toMatch(/--cp-mamba-mode M\s+Mamba-2 under --cp: state-passing \(default[\s\S]*all-to-all[\s\S]*--router\s+under --tp/);
  });
});
