/**
 * `falcon train`: trains a Falcon-H1 model. With no arguments: the `tiny` preset on the corpus shipped
 * in this package, on the cpu backend, saving to ./falcon-run (a few minutes on 2 cores).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '@falcon/tensor';
import type { BackendName } from '@falcon/tensor';
import { hybridConfig } from '../config.js';
import { FalconH1ForCausalLM } from '../model.js';
import { PRESETS } from '../presets.js';
import type { RecomputePolicy } from '../recompute.js';
import { ByteTokenizer } from '../tokenizer/byte.js';
import { TokenBatches } from '../train/data.js';
import type { Trainer } from '../train/trainer.js';
import type { Command } from './command.js';
import { parseOptions, UsageError } from './command.js';
import { dataParallelSetup, DP_HELP, DP_OPTIONS } from './train_parallel.js';
import { ProgressBar } from './progress.js';

/** The corpus shipped with the package (used when --data is not given). */
export const DEFAULT_CORPUS = fileURLToPath(new URL('../../data/corpus.txt', import.meta.url));

function num(v: unknown, name: string, int = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n)) || n <= 0) throw new UsageError(`--${name} must be a positive ${int ? 'integer' : 'number'}, got '${v}'`);
  return n;
}

/** Read --data: a text file (byte tokens) or a .json array / .bin int32 file of token ids. */
async function readTokens(path: string): Promise<Int32Array> {
  if (!existsSync(path)) throw new Error(`data file not found: ${path}`);
  if (path.endsWith('.bin')) {
    const buf = await readFile(path);
    if (buf.byteLength % 4 !== 0) throw new Error(`${path}: a .bin token file holds little-endian int32 ids; its size ${buf.byteLength} is not a multiple of 4`);
    return new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  }
  if (path.endsWith('.json')) {
    const ids = JSON.parse(await readFile(path, 'utf8')) as unknown;
    if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x))) throw new Error(`${path}: a .json token file must be an array of integer ids`);
    return Int32Array.from(ids as number[]);
  }
  return Int32Array.from(new ByteTokenizer().encode(await readFile(path, 'utf8')));
}

/** The `falcon train` command. */
export const trainCommand: Command = {
  summary: 'train a Falcon-H1 model (default: the tiny preset on the bundled corpus, on the CPU)',
  help: [
    'Usage: falcon train [options]',
    '',
    'Trains a Falcon-H1 hybrid model and saves it (config.json, model.safetensors, optimizer state,',
    'trainer_state.json, metrics.jsonl) in --out. A progress bar shows loss and tokens/s.',
    '',
    'Options:',
    `  --config NAME|FILE   preset (${Object.keys(PRESETS).join(', ')}) or a config.json (default tiny)`,
    '  --data FILE          text file (byte tokens), .json array or .bin int32 token ids (default: bundled corpus)',
    '  --out DIR            where checkpoints go (default ./falcon-run)',
    '  --resume DIR         continue the run saved in DIR exactly where it stopped',
    '  --steps N            optimizer steps (default 150)',
    '  --batch-size N       sequences per step (default 8)',
    '  --seqlen N           tokens per sequence (default 64)',
    '  --lr X               peak learning rate (default 3e-3)',
    '  --accumulate N       microbatches per step (default 1)',
    '  --recompute P        none | attention | mamba | both (default none)',
    '  --bitnet             BitNet b1.58 ternary linear layers (attention, Mamba-2, MLP, output projection)',
    '  --backend NAME       cpu | webgpu | cuda (default cpu)',
    '  --seed N             initialisation and data seed (default 0)',
    '  --save-every N       checkpoint every N steps (default: at the end)',
    '  --json               print each step\'s metrics as a JSON line on stdout',
    DP_HELP,
  ].join('\n'),
  async run(argv, out) {
    const o = parseOptions(argv, {
      config: { type: 'string' },
      data: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'string' },
      steps: { type: 'string' },
      'batch-size': { type: 'string' },
      seqlen: { type: 'string' },
      lr: { type: 'string' },
      accumulate: { type: 'string' },
      recompute: { type: 'string' },
      bitnet: { type: 'boolean' },
      backend: { type: 'string' },
      seed: { type: 'string' },
      'save-every': { type: 'string' },
      json: { type: 'boolean' },
      ...DP_OPTIONS,
    });
    const dp = await dataParallelSetup(o, argv);
    if (dp.launched !== undefined) return dp.launched;
    const recompute = (o.recompute ?? 'none') as RecomputePolicy;
    if (!['none', 'attention', 'mamba', 'both'].includes(recompute)) throw new UsageError(`--recompute must be none, attention, mamba or both, got '${recompute}'`);
    const backend = (o.backend ?? 'cpu') as BackendName;
    await initBackend(backend);
    const seed = o.seed === undefined ? 0 : Number(o.seed);
    if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${o.seed}'`);

    let model: FalconH1ForCausalLM;
    let dir: string;
    let trainer: Trainer;
    const tokens = await readTokens((o.data as string | undefined) ?? DEFAULT_CORPUS);
    if (o.resume) {
      dir = o.resume as string;
      const state = JSON.parse(await readFile(join(dir, 'trainer_state.json'), 'utf8').catch(() => {
        throw new Error(`--resume: ${join(dir, 'trainer_state.json')} not found (is ${dir} a training run?)`);
      })) as { options: ConstructorParameters<typeof Trainer>[2]; data: { seed: number; batchSize: number; seqlen: number } };
      model = await FalconH1ForCausalLM.fromPretrained(dir);
      const steps = num(o.steps, 'steps', true) ?? state.options.steps;
      trainer = dp.trainer(model, new TokenBatches(tokens, state.data.batchSize, state.data.seqlen, state.data.seed), { ...state.options, steps }, dir);
      await trainer.restore();
    } else {
      const name = (o.config as string | undefined) ?? 'tiny';
      const json = PRESETS[name] ?? (existsSync(name) ? JSON.parse(await readFile(name, 'utf8')) : undefined);
      if (!json) throw new UsageError(`--config: '${name}' is neither a preset (${Object.keys(PRESETS).join(', ')}) nor a file`);
      const config = hybridConfig(json, { bitnet: o.bitnet ? { attention: true, mamba: true, mlp: true, outProj: true } : undefined });
      const maxId = tokens.reduce((a, b) => (b > a ? b : a), 0);
      if (maxId >= config.base.vocab_size) throw new Error(`the data has token id ${maxId}, beyond the model's vocab_size ${config.base.vocab_size}`);
      model = new FalconH1ForCausalLM(config, seed);
      dir = (o.out as string | undefined) ?? 'falcon-run';
      const data = new TokenBatches(tokens, num(o['batch-size'], 'batch-size', true) ?? 8, num(o.seqlen, 'seqlen', true) ?? 64, seed);
      trainer = dp.trainer(model, data, {
        steps: num(o.steps, 'steps', true) ?? 150,
        lr: num(o.lr, 'lr') ?? 3e-3,
        accumulate: num(o.accumulate, 'accumulate', true),
        recompute,
        saveEvery: num(o['save-every'], 'save-every', true),
      }, dir);
    }
    const total = trainer.options.steps;
    const bar = dp.reports ? new ProgressBar(total, { label: 'train' }) : undefined;
    let first: number | undefined;
    let last = NaN;
    try {
      await trainer.run((m) => {
        first ??= m.loss;
        last = m.loss;
        if (o.json && dp.reports) out(JSON.stringify(m));
        bar?.update(m.step, { loss: m.loss, 'tok/s': Math.round(m.tokensPerSec) });
      });
    } finally {
      await dp.close();
    }
    if (!o.json && dp.reports) out(`trained ${total} steps: loss ${first?.toFixed(3) ?? '-'} → ${last.toFixed(3)}; saved to ${dir}${dp.describe}`);
    return 0;
  },
};
