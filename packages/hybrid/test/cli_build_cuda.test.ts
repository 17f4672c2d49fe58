// `falcon build-cuda`: the source build of the CUDA addons ships with the packages (not only as a
// repository script): help, bad options, and a real compile-and-load check of one addon with nvcc.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';

function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  return main(argv, (s) => out.push(s), (s) => err.push(s)).then((code) => ({ code, out: out.join('\n'), err: err.join('\n') }));
}

const nvcc = ['/usr/local/cuda/bin/nvcc', '/usr/local/bin/nvcc', '/usr/bin/nvcc', process.env.NVCC ?? ''].some((p) => p && existsSync(p));

describe('falcon build-cuda', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is listed by falcon --help and has its own --help', async () => {
    expect((await run(['--help'])).out).toMatch(/build-cuda +build the CUDA addons of the installed @falcon packages/);
    const h = await run(['build-cuda', '--help']);
    expect(h.code).toBe(0);
    expect(h.out).toContain('Usage: falcon build-cuda');
    expect(h.out).toContain('--arch LIST');
  });

  it('rejects an unknown option with one line and exit code 1', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect((await run(['build-cuda', '--archh', 'sm_80'])).code).toBe(1);
    expect(error).toHaveBeenCalledWith("build-cuda: unknown argument '--archh' (see --help)");
    expect((await run(['build-cuda', '--package', 'nope', '--check'])).code).toBe(1);
    expect(error.mock.calls.at(-1)?.[0]).toMatch(/^build-cuda: --package: no package with CUDA sources named nope/);
  });

  // CI has nvcc (.ci/run compiles every addon); where it is absent this case cannot run.
  it.runIf(nvcc)('compiles and loads the bitnet addon from its shipped sources (--check, sm_80)', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect((await run(['build-cuda', '--check', '--package', 'bitnet', '--arch', 'sm_80'])).code).toBe(0);
    const printed = log.mock.calls.map((c) => c.join(' ')).join('\n');
    expect(printed).toMatch(/bitnet: \d+ sources → \(check\)/);
    expect(printed).toMatch(/bitnet: loads; probe → \{"exports":\[.*"ternaryMatmul".*\]/);
  });
});
