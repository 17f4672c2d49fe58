// The falcon CLI: info (text and JSON), help, and one-line errors with exit codes.
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('falcon CLI', () => {
  it('info lists packages and backends with reasons', async () => {
    const r = await run(['info']);
    expect(r.code).toBe(0);
    for (const p of ['tensor', 'mamba2', 'attention', 'bitnet', 'parallel', 'checkpoint', 'hybrid']) expect(r.out).toMatch(new RegExp(`@falcon/${p}\\s+0\\.1\\.0`));
    expect(r.out).toMatch(/cpu\s+available/);
    expect(r.out).toMatch(/cuda\s+(available|unavailable\s+\S+)/);
  });
  it('info --json is machine-readable', async () => {
    const r = await run(['info', '--json']);
    const j = JSON.parse(r.out);
    expect(j.packages['@falcon/tensor']).toBe('0.1.0');
    expect(j.backends.map((b: { name: string }) => b.name)).toEqual(['cpu', 'webgpu', 'cuda']);
    for (const b of j.backends) if (!b.available) expect(typeof b.reason).toBe('string');
  });
  it('help and errors', async () => {
    expect((await run(['--help'])).out).toMatch(/Usage: falcon <command>/);
    expect((await run(['info', '--help'])).out).toMatch(/Usage: falcon info/);
    const bad = await run(['infoo']);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe("falcon: unknown command 'infoo' (commands: train, generate, convert, info; see 'falcon --help')");
    const badOpt = await run(['info', '--jsn']);
    expect(badOpt.code).toBe(2);
    expect(badOpt.err.split('\n')).toHaveLength(1);
    expect(badOpt.err).toMatch(/falcon info: Unknown option '--jsn'/);
  });
});
