// Runs survive crashes: a real `falcon train` process is killed (SIGKILL) mid-step, while writing
// each file of a checkpoint, between the files of one save, around the commit, and at random
// instants; `falcon train --resume` then gives exactly the per-step losses and the final weights of
// an uninterrupted run, or, when nothing was committed yet, refuses with a clear error. Never a mix.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { falcon } from './cli_process.js';

const CONFIG = {
  model_type: 'falcon_h1', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, mamba_d_ssm: 16, mamba_n_heads: 2, mamba_d_head: 8,
  mamba_d_state: 4, mamba_chunk_size: 8, tie_word_embeddings: true, initializer_range: 0.1,
};
const STEPS = 6;

interface Line {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
}

const root = mkdtempSync(join(tmpdir(), 'falcon-crash-'));
const cfg = join(root, 'config.json');
const data = join(root, 'tokens.json');
const args = (out: string) => ['train', '--config', cfg, '--data', data, '--steps', String(STEPS), '--batch-size', '2', '--seqlen', '12', '--lr', '1e-2', '--save-every', '2', '--out', out];
const metrics = (dir: string): Line[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const { step, loss, lr, gradNorm } = JSON.parse(l) as Line;
      return { step, loss, lr, gradNorm };
    });
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('falcon train killed at any point resumes exactly, or refuses', () => {
  let ref: Line[];
  let refWeights: string;
  let refOptimizer: string;
  let refMs: number;
  beforeAll(async () => {
    writeFileSync(cfg, JSON.stringify(CONFIG));
    writeFileSync(data, JSON.stringify(Array.from({ length: 400 }, (_, i) => 3 + ((i * 7) % 11) + (i % 3))));
    const dir = join(root, 'ref');
    const t0 = performance.now();
    const r = await falcon(args(dir));
    refMs = performance.now() - t0;
    expect(r.stderr.split('\n').filter((l) => !/^train \d/.test(l) && l !== '')).toEqual([]);
    expect(r.code).toBe(0);
    ref = metrics(dir);
    expect(ref.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    refWeights = sha(join(dir, 'checkpoint-6', 'model.safetensors'));
    refOptimizer = sha(join(dir, 'checkpoint-6', 'optimizer.safetensors'));
    expect(sha(join(dir, 'model.safetensors'))).toBe(refWeights); // the top level is the latest model
  });

  /** Kill a run by `kill`, resume it, and check the outcome; returns whether it resumed. */
  async function killAndResume(name: string, kill: { env?: Record<string, string>; afterMs?: number }): Promise<'resumed' | 'refused' | 'finished'> {
    const dir = mkdtempSync(join(root, `${name.replace(/[^\w]/g, '_')}-`));
    let timer: NodeJS.Timeout | undefined;
    const r1 = await falcon(args(dir), kill.env, (child) => {
      if (kill.afterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), kill.afterMs);
    });
    clearTimeout(timer);
    if (r1.signal === null) {
      // a random kill that came after the end: the run must simply be complete
      expect(r1.code, name).toBe(0);
      expect(metrics(dir), name).toEqual(ref);
      return 'finished';
    }
    expect(r1.signal, `${name}: ${r1.stderr}`).toBe('SIGKILL');
    const committed = existsSync(join(dir, 'latest.json'));
    const r2 = await falcon(['train', '--resume', dir]);
    if (!committed) {
      expect(r2.code, `${name}: ${r2.stderr}`).toBe(1);
      if (/no training run there/.test(r2.stderr)) {
        // killed before any file of the run was written: nothing to resume, and a new run may start there
        expect(r2.stderr.trim(), name).toMatch(/^falcon train: --resume .*: no training run there \(no .*latest.json\)$/);
        const r3 = await falcon(args(dir));
        expect(r3.code, `${name}: ${r3.stderr}`).toBe(0);
        expect(metrics(dir), name).toEqual(ref);
        return 'refused';
      }
      // files but no commit: a clear refusal, and --out on that directory refuses too
      expect(r2.stderr.trim(), name).toMatch(/^falcon train: --resume .*: it holds the files of a training run .* but no committed checkpoint \(the run stopped before its first save\); start it again with --out .* --overwrite$/);
      const r3 = await falcon(args(dir));
      expect(r3.code, name).toBe(2);
      expect(r3.stderr.trim(), name).toMatch(/holds the files of a training run .*: continue it with --resume .*, or start over with --overwrite/);
      return 'refused';
    }
    expect(r2.code, `${name}: ${r2.stderr}`).toBe(0);
    // each step exactly once, with exactly the uninterrupted run's numbers; the same final weights and moments
    expect(metrics(dir), name).toEqual(ref);
    expect(sha(join(dir, 'checkpoint-6', 'model.safetensors')), name).toBe(refWeights);
    expect(sha(join(dir, 'checkpoint-6', 'optimizer.safetensors')), name).toBe(refOptimizer);
    expect(sha(join(dir, 'model.safetensors')), name).toBe(refWeights);
    // no leftovers: temporary files, uncommitted or superseded checkpoints, the lock
    expect(readdirSync(dir).sort(), name).toEqual(['checkpoint-6', 'config.json', 'latest.json', 'metrics.jsonl', 'model.safetensors']);
    expect(r2.stdout, name).toMatch(/^(trained 6 steps \(steps \d–6 now, resumed from step \d\): loss \d\.\d{3} → \d\.\d{3}; saved to |the run in .* is already complete \(6 of 6 steps\))/);
    return 'resumed';
  }

  // [kill point, what must follow]
  const POINTS: [string, 'resumed' | 'refused'][] = [
    ['mid-step@1', 'refused'],
    ['write:model.safetensors@2', 'refused'],
    ['latest-tmp@2', 'refused'],
    ['mid-step@3', 'resumed'],
    ['after-metrics@4', 'resumed'],
    ...['write:model.safetensors', 'after:model.safetensors', 'write:optimizer.safetensors', 'after:optimizer.safetensors', 'write:trainer_state.json', 'after:trainer_state.json', 'write:manifest.json', 'before-rename', 'after-rename', 'write:latest.json', 'latest-tmp', 'after-commit', 'export'].map(
      (p) => [`${p}@4`, 'resumed'] as [string, 'resumed'],
    ),
    ['mid-step@6', 'resumed'],
    ['after-rename@6', 'resumed'],
    ['after-commit@6', 'resumed'],
  ];
  it.each(POINTS)('killed at %s: %s', async (point, expected) => {
    expect(await killAndResume(point, { env: { FALCON_TEST_KILL_AT: point } })).toBe(expected);
  });

  it('killed at random instants', async () => {
    let seed = 12345;
    const uniform = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const ms = Math.round(refMs * (0.4 + 0.6 * uniform()));
      outcomes.push(`${ms}ms: ${await killAndResume(`random-${i}`, { afterMs: ms })}`);
    }
    console.log(`random kills (uninterrupted run ${Math.round(refMs)} ms): ${outcomes.join(', ')}`);
  });
});
