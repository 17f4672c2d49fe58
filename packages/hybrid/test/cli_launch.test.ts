// `falcon launch` and the data-parallel options of `falcon train`: help, usage errors before any
// process starts, a failing rank's exit code and name, and signals forwarded to the workers.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { workerBackendOptions } from '../src/cli/launch.js';
import { main } from '../src/cli/main.js';

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../../../tsconfig.dev.json', import.meta.url));

describe('falcon launch', () => {
  it("a cuda worker's GPU is its LOCAL_RANK (torchrun's convention); other backends take none", () => {
    expect(workerBackendOptions('cuda', { LOCAL_RANK: '3' })).toEqual({ device: 3 });
    expect(workerBackendOptions('cuda', {})).toEqual({});
    expect(workerBackendOptions('cpu', { LOCAL_RANK: '1' })).toEqual({});
    expect(() => workerBackendOptions('cuda', { LOCAL_RANK: '-1' })).toThrow(/LOCAL_RANK must be a non-negative integer/);
  });

  it('--help explains the options, the environment and several machines', async () => {
    const r = await run(['launch', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['Usage: falcon launch [options] -- <command>', '--nproc-per-node N', '--nnodes M', '--node-rank R', '--master-addr A', '--master-port P', '--grace-ms T', 'RANK, WORLD_SIZE, LOCAL_RANK', '[rank R]: ', '--nnodes 2 --node-rank 1']) expect(r.out).toContain(s);
    expect((await run(['--help'])).out).toMatch(/launch\s+start a distributed job/);
    // after '--', --help belongs to the launched command
    const passed = await run(['launch', '--nproc-per-node', '1', '--', '/bin/sh', '-c', '[ "$1" = --help ]', 'sh', '--help']);
    expect(passed.code).toBe(0);
  });

  it('exits with the failed rank\'s code and names it', async () => {
    const r = await run(['launch', '--nproc-per-node', '2', '--', process.execPath, '-e', 'process.exit(process.env.RANK === "1" ? 4 : 0)']);
    expect(r.code).toBe(4);
    // rank 0 may still be running when rank 1 fails (then it is stopped)
    expect(r.err).toMatch(/^falcon launch: rank 1 \(local rank 1, pid \d+\) exited with code 4(; stopped the other 1 rank)?$/);
  });

  it('bad arguments are usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['launch', '--nproc-per-node', '2'], /^falcon launch: no command to launch \(give it after --\) \(see 'falcon launch --help'\)$/],
      [['launch', '--nproc-per-node', '0', '--', 'x'], /--nproc-per-node must be an integer ≥ 1, got '0'/],
      [['launch', '--bogus', '--', 'x'], /unknown option '--bogus'/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(message);
    }
  });

  it('forwards SIGINT to the workers and exits 130', async () => {
    const worker = fileURLToPath(new URL('../../parallel/test/fixtures/launch_worker.mjs', import.meta.url));
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, 'launch', '--nproc-per-node', '2', '--', worker, 'wait'], { env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      // once: later chunks (the workers' 'got SIGINT' lines) still count two 'ready's
      if (!sent && (out.match(/ready/g) ?? []).length === 2) {
        sent = true;
        p.kill('SIGINT');
      }
    });
    let err = '';
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    expect(out).toContain('[rank 0]: got SIGINT');
    expect(out).toContain('[rank 1]: got SIGINT');
    expect(code).toBe(130);
    expect(err).toContain('falcon launch: received SIGINT; stopped 2 ranks');
  });
});

describe('falcon train: data-parallel options', () => {
  it('inconsistent options are usage errors before any process starts', async () => {
    const cases: [string[], RegExp][] = [
      [['train', '--dp', '2'], /^falcon train: --dp 2 needs 2 processes but this job has 1: run 'falcon train --nproc-per-node 2 --dp 2 \.\.\.' or start it under 'falcon launch --nproc-per-node 2' \(see 'falcon train --help'\)$/],
      [['train', '--nproc-per-node', '2', '--dp', '3'], /--dp 3 must equal --nproc-per-node 2/],
      [['train', '--nproc-per-node', '2', '--batch-size', '3'], /--batch-size 3 \(the global batch\) must be divisible by --dp 2/],
      [['train', '--nproc-per-node', '2', '--zero', '2'], /--zero must be 0 or 1, got '2'/],
      [['train', '--nproc-per-node', '2', '--bucket-mb', '0'], /--bucket-mb must be a positive number, got '0'/],
      [['train', '--zero', '1'], /--zero and --bucket-mb apply to data-parallel runs/],
      [['train', '--nproc-per-node', 'x'], /--nproc-per-node must be a positive integer, got 'x'/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.split('\n'), argv.join(' ')).toHaveLength(1);
      expect(r.err, argv.join(' ')).toMatch(message);
    }
  });
  it('--help lists them', async () => {
    const r = await run(['train', '--help']);
    for (const s of ['--nproc-per-node N', '--dp N', '--zero 0|1', '--bucket-mb X']) expect(r.out).toContain(s);
  });
});
