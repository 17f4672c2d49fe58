// The launcher: the workers' environment, rank-prefixed output, a failing rank stops the others
// (SIGTERM, then SIGKILL after the grace period) and is named in the result, argument parsing.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { launch, parseLaunchArgs, workerEnv } from '../src/index.js';
import type { LaunchOptions } from '../src/index.js';

const WORKER = fileURLToPath(new URL('./fixtures/launch_worker.mjs', import.meta.url));

function collect() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

async function run(mode: string[], extra: Partial<LaunchOptions> = {}) {
  const out = collect();
  const err = collect();
  const t0 = performance.now();
  const r = await launch({ nprocPerNode: 2, command: process.execPath, args: [WORKER, ...mode], stdout: out.stream, stderr: err.stream, forwardSignals: false, ...extra });
  return { r, out: out.text(), err: err.text(), ms: performance.now() - t0 };
}

describe('launch', () => {
  it('gives each worker its rank and prefixes its output lines', async () => {
    const { r, out, err } = await run(['ok']);
    expect(r.exitCode).toBe(0);
    expect(r.message).toBe('');
    expect(r.masterPort).toBeGreaterThan(0); // a free port: none was given on one node
    for (const rank of [0, 1]) {
      expect(out).toContain(`[rank ${rank}]: RANK=${rank} WORLD_SIZE=2 LOCAL_RANK=${rank} LOCAL_WORLD_SIZE=2 GROUP_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=${r.masterPort}\n`);
      expect(err).toContain(`[rank ${rank}]: to stderr from ${rank}\n`);
      expect(err).toContain(`[rank ${rank}]: no newline at the end\n`); // the last partial line is flushed
    }
    expect(r.workers.map((w) => [w.rank, w.code, w.signal])).toEqual([[0, 0, null], [1, 0, null]]);
  });

  it('without the prefix copies output unchanged', async () => {
    const { out } = await run(['ok'], { prefix: false, nprocPerNode: 1, masterPort: 12345, hostStore: false });
    expect(out).toBe('RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 LOCAL_WORLD_SIZE=1 GROUP_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=12345\n');
  });

  it('a rank that exits non-zero stops the others and is named', async () => {
    const { r, ms } = await run(['fail', '1', '3'], { nprocPerNode: 3 });
    expect(r.exitCode).toBe(3);
    expect(r.failed?.rank).toBe(1);
    expect(r.message).toMatch(/^rank 1 \(local rank 1, pid \d+\) exited with code 3; stopped the other 2 ranks$/);
    for (const w of [r.workers[0], r.workers[2]]) expect([w.stoppedByLauncher, w.signal]).toEqual([true, 'SIGTERM']);
    expect(ms).toBeLessThan(4000); // the others are stopped at once, not after the 5 s grace period
  });

  it('a rank killed by a signal is named with its signal', async () => {
    const { r } = await run(['sigkill', '0']);
    expect(r.exitCode).toBe(128 + 9);
    expect(r.message).toMatch(/^rank 0 \(local rank 0, pid \d+\) was killed by SIGKILL; stopped the other 1 rank$/);
  });

  it('workers that ignore SIGTERM are killed after the grace period', async () => {
    const { r, out, ms } = await run(['stubborn', '1', '2'], { graceMs: 500 });
    expect(r.exitCode).toBe(2);
    expect(out).toContain('[rank 0]: ignoring SIGTERM');
    expect(r.workers[0].signal).toBe('SIGKILL');
    expect(ms).toBeGreaterThanOrEqual(600); // 200 ms until rank 1 fails + the 500 ms grace
  });

  it('node rank and node count give node-major ranks', async () => {
    const { r, out } = await run(['ok'], { nnodes: 3, nodeRank: 2, masterPort: 29511, masterAddr: '127.0.0.1' });
    expect(r.exitCode).toBe(0);
    expect(out).toContain('[rank 4]: RANK=4 WORLD_SIZE=6 LOCAL_RANK=0 LOCAL_WORLD_SIZE=2 GROUP_RANK=2');
    expect(out).toContain('[rank 5]: RANK=5 WORLD_SIZE=6 LOCAL_RANK=1');
  });

  it('a command that cannot be started is a failure naming it', async () => {
    const r = await launch({ nprocPerNode: 2, command: '/nonexistent/program', stdout: new PassThrough(), stderr: new PassThrough(), forwardSignals: false });
    expect(r.exitCode).toBe(127);
    expect(r.message).toMatch(/^rank \d .*exited with code 127 \(spawn \/nonexistent\/program ENOENT\)/);
  });

  it('rejects bad options before starting anything', async () => {
    await expect(launch({ nprocPerNode: 0, command: 'x' })).rejects.toThrow(/nprocPerNode must be an integer ≥ 1, got 0/);
    await expect(launch({ nprocPerNode: 1, nnodes: 2, nodeRank: 2, command: 'x' })).rejects.toThrow(/nodeRank 2 is not below nnodes 2/);
    await expect(launch({ nprocPerNode: 1, nnodes: 2, masterPort: 0, command: 'x' })).rejects.toThrow(/same explicit masterPort/);
  });
});

describe('launch: the launcher exiting abruptly', () => {
  it('takes its workers along', async () => {
    let out = '';
    try {
      execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/launch_then_exit.ts', import.meta.url))], { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' });
    } catch (e) {
      const err = e as { status: number; stdout: string };
      expect(err.status).toBe(7);
      out = err.stdout;
    }
    const pids = /WORKERS (\d+) (\d+)/.exec(out)!.slice(1).map(Number);
    // gone, or a zombie not yet reaped by whoever inherited it
    const alive = (pid: number) => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 30 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(pids.filter(alive)).toEqual([]);
  });
});

describe('workerEnv', () => {
  it('follows torchrun', () => {
    expect(workerEnv({ localRank: 1, nprocPerNode: 4, nodeRank: 1, nnodes: 2, masterAddr: 'h', masterPort: 7 })).toMatchObject({
      RANK: '5', WORLD_SIZE: '8', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '4', GROUP_RANK: '1', GROUP_WORLD_SIZE: '2', ROLE_RANK: '5', ROLE_WORLD_SIZE: '8', MASTER_ADDR: 'h', MASTER_PORT: '7',
    });
  });
});

describe('parseLaunchArgs', () => {
  it('reads torchrun options and the command', () => {
    expect(parseLaunchArgs(['--nproc-per-node', '2', '--master-port=1234', '--', 'echo', '--x'])).toMatchObject({ nprocPerNode: 2, masterPort: 1234, command: 'echo', args: ['--x'] });
    expect(parseLaunchArgs(['--nproc_per_node=3', '--no-prefix', 'job.mjs', 'a'])).toMatchObject({ nprocPerNode: 3, prefix: false, command: process.execPath, args: ['job.mjs', 'a'] });
    expect(parseLaunchArgs(['echo'])).toMatchObject({ nprocPerNode: 1, command: 'echo', args: [] });
  });
  it('names what is wrong', () => {
    expect(() => parseLaunchArgs(['--nproc-per-node', '2'])).toThrow(/no command to launch/);
    expect(() => parseLaunchArgs(['--nproc-per-node', 'two', '--', 'x'])).toThrow(/--nproc-per-node must be an integer ≥ 1, got 'two'/);
    expect(() => parseLaunchArgs(['--nprocs', '2', '--', 'x'])).toThrow(/unknown option '--nprocs'/);
    expect(() => parseLaunchArgs(['--master-port', '70000', '--', 'x'])).toThrow(/at most 65535/);
    expect(() => parseLaunchArgs(['--nnodes', '2', '--', 'x'])).toThrow(/--master-addr is required/);
    expect(() => parseLaunchArgs(['--nnodes', '2', '--node-rank', '2', '--master-addr', 'a', '--', 'x'])).toThrow(/--node-rank 2 must be below --nnodes 2/);
    expect(() => parseLaunchArgs(['--nproc-per-node', '--', 'x'])).toThrow(/--nproc-per-node needs a value/);
  });
});
