// A run directory and the flags of `falcon train`: --out refuses a directory holding a run unless
// --resume or --overwrite; --resume refuses flags that contradict the saved run; metrics.jsonl has
// each step once; the progress ETA and the final summary count a resumed run right.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { ProgressBar } from '../src/cli/progress.js';
import { FalconH1ForCausalLM, hybridConfig, TokenBatches } from '../src/index.js';
import { Trainer } from '../src/train/trainer.js';

const CONFIG = {
  model_type: 'falcon_h1', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, mamba_d_ssm: 16, mamba_n_heads: 2, mamba_d_head: 8,
  mamba_d_state: 4, mamba_chunk_size: 8, tie_word_embeddings: true,
};

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const steps = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { step: number; loss: number });

describe('falcon train run directories', () => {
  const root = mkdtempSync(join(tmpdir(), 'falcon-rundir-'));
  const cfg = join(root, 'config.json');
  const wide = join(root, 'wide.json');
  const data = join(root, 'tokens.json');
  const other = join(root, 'other.json');
  writeFileSync(cfg, JSON.stringify(CONFIG));
  writeFileSync(wide, JSON.stringify({ ...CONFIG, hidden_size: 24, intermediate_size: 32 }));
  writeFileSync(data, JSON.stringify(Array.from({ length: 300 }, (_, i) => 3 + ((i * 5) % 13))));
  writeFileSync(other, JSON.stringify(Array.from({ length: 300 }, (_, i) => 3 + ((i * 3) % 17))));
  const base = ['--config', cfg, '--data', data, '--batch-size', '2', '--seqlen', '8', '--save-every', '2'];

  it('refuses, resumes, overwrites', async () => {
    const dir = join(root, 'a');
    const first = await run(['train', ...base, '--steps', '4', '--out', dir]);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/^trained 4 steps: loss \d\.\d{3} → \d\.\d{3}; saved to /);

    // --out on a run
    const again = await run(['train', ...base, '--steps', '4', '--out', dir]);
    expect(again.code).toBe(2);
    expect(again.err).toBe(`falcon train: --out ${dir} holds a training run committed at step 4: continue it with --resume ${dir}, or start over with --overwrite (see 'falcon train --help')`);

    // --resume with contradicting flags: each named with the saved value, nothing trained
    const bad: [string[], RegExp][] = [
      [['--batch-size', '3'], /--batch-size 3 \(the run's: 2\)/],
      [['--seqlen', '12'], /--seqlen 12 \(the run's: 8\)/],
      [['--lr', '1e-2'], /--lr 0.01 \(the run's: 0.003\)/],
      [['--seed', '5'], /--seed 5 \(the run's: 0\)/],
      [['--accumulate', '2'], /--accumulate 2 \(the run's: 1\)/],
      [['--config', wide], /--config .*wide.json \(differs from the run's config.json: hidden_size 24 \(saved: 16\), intermediate_size 32 \(saved: 24\)\)/],
      [['--config', 'small'], /--config small \(differs from the run's config.json: /],
      [['--bitnet'], /--bitnet \(the run has no BitNet layers\)/],
      [['--data', other], /--data .*other.json \(300 tokens, not the 300 tokens the run was trained on\)/],
      [['--batch-size', '3', '--seqlen', '12'], /--batch-size 3 \(the run's: 2\); --seqlen 12 \(the run's: 8\) contradict the saved run; leave them out to continue it as saved/],
      [['--steps', '3'], /--steps 3 is fewer than the 4 steps the run in .* has done/],
      [['--out', join(root, 'elsewhere')], /--out .*elsewhere and --resume .* name different directories/],
      [['--overwrite'], /--resume and --overwrite contradict each other/],
    ];
    for (const [flags, message] of bad) {
      const r = await run(['train', '--resume', dir, ...flags]);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.err.split('\n'), flags.join(' ')).toHaveLength(1);
      expect(r.err, flags.join(' ')).toMatch(message);
    }
    expect(steps(dir).map((m) => m.step)).toEqual([1, 2, 3, 4]);

    // the same flags as saved are fine; --steps extends the run; the summary counts the whole run
    const resumed = await run(['train', '--resume', dir, '--batch-size', '2', '--data', data, '--steps', '6']);
    expect(resumed.code, resumed.err).toBe(0);
    const m = steps(dir);
    expect(m.map((x) => x.step)).toEqual([1, 2, 3, 4, 5, 6]); // each step once
    expect(resumed.out).toBe(`trained 6 steps (steps 5–6 now, resumed from step 4): loss ${m[0].loss.toFixed(3)} → ${m[5].loss.toFixed(3)}; saved to ${dir}`);
    const done = await run(['train', '--resume', dir]);
    expect(done.code).toBe(0);
    expect(done.out).toBe(`the run in ${dir} is already complete (6 of 6 steps); give --steps N to train it further`);

    // the data file changed since the run was saved
    const moved = join(root, 'b');
    const data2 = join(root, 'tokens2.json');
    writeFileSync(data2, readFileSync(data));
    expect((await run(['train', ...base, '--data', data2, '--steps', '2', '--out', moved])).code).toBe(0);
    writeFileSync(data2, JSON.stringify(Array.from({ length: 310 }, (_, i) => 3 + (i % 7))));
    const changed = await run(['train', '--resume', moved, '--steps', '4']);
    expect(changed.code).toBe(2);
    expect(changed.err).toMatch(/the run's data file .*tokens2.json \(310 tokens, not the 300 tokens the run was trained on: it changed since\)/);

    // --overwrite starts over: the old steps are gone
    const over = await run(['train', ...base, '--steps', '2', '--out', dir, '--overwrite']);
    expect(over.code, over.err).toBe(0);
    expect(steps(dir).map((x) => x.step)).toEqual([1, 2]);
    expect(JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8'))).toMatchObject({ step: 2, checkpoint: 'checkpoint-2' });
  });

  it('refuses a damaged checkpoint, a directory in use, and a run saved without commits', async () => {
    const dir = join(root, 'damaged');
    expect((await run(['train', ...base, '--steps', '2', '--out', dir])).code).toBe(0);
    // another live process holds the run (pid 1 always exists)
    writeFileSync(join(dir, '.lock'), '1');
    const busy = await run(['train', '--resume', dir, '--steps', '4']);
    expect(busy.code).toBe(1);
    expect(busy.err).toBe(`falcon train: ${dir} is in use by process 1 (if that is not a falcon training process, remove ${join(dir, '.lock')})`);
    rmSync(join(dir, '.lock'));
    // one flipped byte in the optimizer state
    const opt = join(dir, 'checkpoint-2', 'optimizer.safetensors');
    const bytes = readFileSync(opt);
    bytes[bytes.length - 3] ^= 0x40;
    writeFileSync(opt, bytes);
    const r = await run(['train', '--resume', dir, '--steps', '4']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^falcon train: .*checkpoint-2 is damaged \(optimizer.safetensors has \d+ bytes with SHA-256 [0-9a-f]{12}…, the manifest says \d+ bytes, [0-9a-f]{12}…\); the run cannot be resumed safely from it$/);
    // the layout of an earlier version: files at the top level, no commit record
    const old = join(root, 'old');
    mkdirSync(old);
    for (const f of ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'metrics.jsonl']) writeFileSync(join(old, f), '{}');
    const legacy = await run(['train', '--resume', old]);
    expect(legacy.code).toBe(1);
    expect(legacy.err).toMatch(/it holds the files of a training run \(.*\) but no committed checkpoint \(saved by an earlier falcon train, whose saves were not atomic, so it cannot be resumed safely\); start it again with --out .* --overwrite$/);
  });

  it('a Trainer refuses to train over a commit of another step, and restore() checks the data and options', async () => {
    const dir = join(root, 'lib');
    const tokens = Int32Array.from({ length: 200 }, (_, i) => 3 + (i % 11));
    const make = (opts: { lr?: number; data?: Int32Array } = {}) =>
      new Trainer(new FalconH1ForCausalLM(hybridConfig(CONFIG), 1), new TokenBatches(opts.data ?? tokens, 2, 8, 0), { steps: 4, lr: opts.lr ?? 1e-2 }, dir);
    await make().run(undefined, 2);
    await expect(make().run()).rejects.toThrow(/holds a run committed at step 2, but this trainer is at step 0: restore\(\) it first/);
    await expect(make({ lr: 2e-2 }).restore()).rejects.toThrow(/cannot resume .*: option lr is 0.02, the saved run's is 0.01/);
    await expect(make({ data: tokens.map((t) => t + 1) }).restore()).rejects.toThrow(/cannot resume .*: data sha256 is [0-9a-f]+, the saved run's is [0-9a-f]+/);
    const t = make();
    await t.restore();
    expect(t.step).toBe(2);
    expect((await t.run()).map((x) => x.step)).toEqual([3, 4]);
  });
});

describe('ProgressBar', () => {
  it("after a resume, the rate and ETA count only this process's steps", () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    let now = 0;
    const bar = new ProgressBar(10, { stream, startAt: 4, logEvery: 1, now: () => now });
    now = 2000; // step 5, the first of this process, took 2 s → 5 steps left ≈ 10 s
    bar.update(5, { loss: 1.5 });
    now = 4000;
    bar.update(6, { loss: 1.25 });
    expect(lines).toEqual(['5/10  loss 1.500  elapsed 0:02  ETA 0:10\n', '6/10  loss 1.250  elapsed 0:04  ETA 0:08\n']);
    const fresh: string[] = [];
    const b2 = new ProgressBar(10, { stream: { isTTY: false, write: (s: string) => fresh.push(s) } as unknown as NodeJS.WriteStream, logEvery: 1, now: () => now });
    now += 1000;
    b2.update(1);
    expect(fresh).toEqual(['1/10    elapsed 0:01  ETA 0:09\n']);
  });
});
