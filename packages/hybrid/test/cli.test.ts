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
    expect(bad.err).toBe("falcon: unknown command 'infoo' (commands: train, generate, chat, convert, info, launch, build-cuda, export; see 'falcon --help')");
    const badOpt = await run(['info', '--jsn']);
    expect(badOpt.code).toBe(2);
    expect(badOpt.err.split('\n')).toHaveLength(1);
    expect(badOpt.err).toMatch(/falcon info: Unknown option '--jsn'/);
  });
  it('train, generate and convert: bad arguments and files give one line and a non-zero exit', async () => {
    const cases: [string[], number, RegExp][] = [
      [['train', '--steps=-3'], 2, /^falcon train: --steps must be a positive integer, got '-3' \(see 'falcon train --help'\)$/],
      [['train', '--recompute', 'all'], 2, /--recompute must be none, attention, mamba, both or layer/],
      [['train', '--config', 'nope'], 2, /--config: 'nope' is neither a preset \(tiny, small\) nor a file/],
      [['train', '--data', '/nonexistent/corpus.txt'], 1, /^falcon train: data file not found: \/nonexistent\/corpus.txt$/],
      [['train', '--resume', '/nonexistent/run'], 1, /^falcon train: --resume \/nonexistent\/run: no training run there \(no \/nonexistent\/run\/latest.json\)$/],
      [['generate', '--prompt', 'x'], 2, /--model DIR is required/],
      [['generate', '--model', '/nonexistent', '--prompt', 'x'], 1, /^falcon generate: cannot read \/nonexistent\/config.json: ENOENT$/],
      [['generate', '--model', 'm', '--prompt', 'x', '--prompt-ids', '1'], 2, /exactly one of --prompt and --prompt-ids/],
      [['convert', '--out', '/tmp/x'], 2, /--from-llama DIR and --out DIR are required/],
      [['convert', '--from-llama', '/nonexistent', '--out', '/tmp/x'], 1, /^falcon convert: cannot read \/nonexistent\/config.json$/],
    ];
    for (const [argv, code, message] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(code);
      expect(r.err.split('\n'), argv.join(' ')).toHaveLength(1);
      expect(r.err, argv.join(' ')).toMatch(message);
    }
  });
});
