/**
 * `falcon train`: trains a Falcon-H1 model. With no arguments: the `tiny` preset on the corpus shipped
 * in this package, on the cpu backend, saving to ./falcon-run (a few minutes on 2 cores).
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKEND_NAMES, initBackend } from '@falcon/tensor';
import type { BackendName } from '@falcon/tensor';
import { checkBatchSize } from '../checks.js';
import { hybridConfig } from '../config.js';
import type { HybridConfig } from '../config.js';
import { FalconH1ForCausalLM } from '../model.js';
import { configJson } from '../pretrained.js';
import { PRESETS } from '../presets.js';
import type { RecomputePolicy } from '../recompute.js';
import { ByteTokenizer } from '../tokenizer/byte.js';
import { readCommitted } from '../train/checkpoint.js';
import { sha256 } from '../train/durable.js';
import { METRICS } from '../train/latest.js';
import { describeRun, lockRunDirectory, prepareRunDirectory, removeRun } from '../train/run_directory.js';
import type { CommittedCheckpoint } from '../train/checkpoint.js';
import { TokenBatches } from '../train/data.js';
import type { TrainOptions } from '../train/trainer.js';
import type { Command } from './command.js';
import { parseOptions, UsageError } from './command.js';
import { workerBackendOptions } from './launch.js';
import { dataParallelSetup, DP_HELP, DP_OPTIONS } from './train_parallel.js';
import { MP_HELP, MP_OPTIONS, modelParallelFlags, resumeModelParallel, trainModelParallel } from './train_model_parallel.js';
import type { RecordedHeadSplit } from './head_splits.js';
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
  if (path.endsWith('.json')) {
    const ids = JSON.parse(await readFile(path, 'utf8')) as unknown;
    if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x) && x >= 0 && x <= 0x7fffffff)) throw new Error(`${path}: a .json token file must be an array of non-negative integer ids`);
    return Int32Array.from(ids as number[]);
  }
  if (path.endsWith('.bin')) {
    const buf = await readFile(path);
    if (buf.byteLength % 4 !== 0) throw new Error(`${path}: a .bin token file holds little-endian int32 ids; its size ${buf.byteLength} is not a multiple of 4`);
    return new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  }
  return Int32Array.from(new ByteTokenizer().encode(await readFile(path, 'utf8')));
}

/** Read --config: a preset name, a config.json file or a model directory (any config `fromPretrained` reads). */
async function readConfigArg(name: string, bitnet: boolean): Promise<{ config: HybridConfig; source: string }> {
  const preset = PRESETS[name];
  if (!preset && !existsSync(name)) throw new UsageError(`--config: '${name}' is neither a preset (${Object.keys(PRESETS).join(', ')}) nor a file`);
  if (!preset && statSync(name).isDirectory()) name = join(name, 'config.json');
  // the text, not JSON.parse of it: a config may hold Infinity (bare, or transformers 5's {"__float__": "Infinity"})
  const json = preset ?? (await readFile(name, 'utf8'));
  const source = preset ? `preset '${name}'` : resolve(name);
  return { config: hybridConfig(json, { source, bitnet: bitnet ? { attention: true, mamba: true, mlp: true, outProj: true } : undefined }), source };
}

/** The first differences between two config.json texts, e.g. `hidden_size 64 (saved: 32)`. */
function configDiff(given: string, saved: string): string {
  const a = JSON.parse(given.replace(/\{\s*"__float__":\s*"[^"]*"\s*\}/g, 'null')) as Record<string, unknown>;
  const b = JSON.parse(saved.replace(/\{\s*"__float__":\s*"[^"]*"\s*\}/g, 'null')) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  return keys.slice(0, 4).map((k) => `${k} ${JSON.stringify(a[k])} (saved: ${JSON.stringify(b[k])})`).join(', ') + (keys.length > 4 ? ', …' : '');
}

/** The losses of a run's first and last lines in metrics.jsonl (for the summary after a resume). */
async function runLosses(dir: string): Promise<{ first?: number; last?: number }> {
  const lines = (await readFile(join(dir, METRICS), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const parse = (l: string | undefined) => (l ? (JSON.parse(l) as { loss: number }).loss : undefined);
  return { first: parse(lines[0]), last: parse(lines[lines.length - 1]) };
}

/** The `falcon train` command. */
export const trainCommand: Command = {
  summary: 'train a Falcon-H1 model (default: the tiny preset on the bundled corpus, on the CPU)',
  help: [
    'Usage: falcon train [options]',
    '',
    'Trains a Falcon-H1 hybrid model in a run directory (--out). Each save is one atomic checkpoint,',
    'checkpoint-<step>/ (config.json, model.safetensors, optimizer.safetensors, trainer_state.json and',
    'a manifest of their SHA-256), committed by latest.json; a run killed at any moment resumes exactly',
    'from its last commit. The latest model is also linked as DIR/config.json + DIR/model.safetensors;',
    'metrics.jsonl has one line per step. A progress bar shows loss and tokens/s.',
    '',
    'Options:',
    `  --config NAME|FILE   preset (${Object.keys(PRESETS).join(', ')}), a config.json or a model directory (default tiny)`,
    '  --data FILE          text file (byte tokens), .json array or .bin int32 token ids (default: bundled corpus)',
    '  --out DIR            the run directory (default ./falcon-run); refused if it holds a run, unless --overwrite',
    '  --overwrite          remove the run in --out first and start over',
    '  --resume DIR         continue the run in DIR exactly where its last checkpoint stopped (flags that',
    '                       contradict the saved run are refused; --steps N extends or shortens the run)',
    '  --steps N            optimizer steps (default 150)',
    '  --batch-size N       sequences per step (default 8)',
    '  --seqlen N           tokens per sequence (default 64; at most the config\'s max_position_embeddings)',
    '  --lr X               peak learning rate (default 3e-3)',
    '  --accumulate N       microbatches per step (default 1)',
    '  --recompute P        none | attention | mamba | both | layer (default none)',
    '  --bitnet             BitNet b1.58 ternary linear layers (attention, Mamba-2, MLP, output projection)',
    '  --backend NAME       cpu | webgpu | cuda (default cpu)',
    '  --seed N             initialisation and data seed (default 0)',
    '  --save-every N       checkpoint every N steps (default: at the end)',
    '  --json               print each step\'s metrics as a JSON line on stdout',
    DP_HELP,
    MP_HELP,
  ].join('\n'),
  async run(argv, out) {
    const o = parseOptions(argv, {
      config: { type: 'string' },
      data: { type: 'string' },
      out: { type: 'string' },
      overwrite: { type: 'boolean' },
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
      ...MP_OPTIONS,
    });
    // every flag, file and size is checked before the backend starts (and before Dawn's or CUDA's messages)
    const recompute = (o.recompute ?? 'none') as RecomputePolicy;
    if (!['none', 'attention', 'mamba', 'both', 'layer'].includes(recompute)) throw new UsageError(`--recompute must be none, attention, mamba, both or layer, got '${recompute}'`);
    const backend = (o.backend ?? 'cpu') as BackendName;
    if (!BACKEND_NAMES.includes(backend)) throw new UsageError(`--backend must be ${BACKEND_NAMES.join(', ')}, got '${backend}'`);
    const seed = o.seed === undefined ? undefined : Number(o.seed);
    if (seed !== undefined && !Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got '${o.seed}'`);
    const steps = num(o.steps, 'steps', true);
    const batchSize = num(o['batch-size'], 'batch-size', true);
    const seqlen = num(o.seqlen, 'seqlen', true);
    if (seqlen === 1) throw new UsageError(`--seqlen must be at least 2 (a token and the next one to predict), got '1'`);
    const lr = num(o.lr, 'lr');
    const accumulate = num(o.accumulate, 'accumulate', true);
    const saveEvery = num(o['save-every'], 'save-every', true);
    if (o.resume !== undefined && o.out !== undefined && resolve(String(o.out)) !== resolve(String(o.resume))) {
      throw new UsageError(`--out ${o.out} and --resume ${o.resume} name different directories (a resumed run stays in its directory)`);
    }
    if (o.resume !== undefined && o.overwrite) throw new UsageError('--resume and --overwrite contradict each other (continue the run, or start over)');
    const mp = modelParallelFlags(o);

    let dir: string;
    let config: HybridConfig;
    let tokens: Int32Array;
    let options: TrainOptions;
    let data: TokenBatches;
    let committed: CommittedCheckpoint | undefined;
    let info: Record<string, unknown>;
    let recorded: RecordedHeadSplit | undefined;
    if (o.resume !== undefined && mp) {
      dir = String(o.resume);
      const r = await resumeModelParallel(dir, { batchSize, seqlen, seed, lr, data: o.data === undefined ? undefined : String(o.data), steps, saveEvery }, readTokens);
      ({ config, data, options, info, recorded } = r);
      tokens = data.tokens;
      if (r.step >= options.steps) {
        out(`the run in ${dir} is already complete (${r.step} of ${options.steps} steps); give --steps N to train it further`);
        return 0;
      }
    } else if (o.resume !== undefined) {
      dir = String(o.resume);
      committed = await readCommitted(dir);
      if (!committed) {
        const what = await describeRun(dir);
        const legacy = existsSync(join(dir, 'trainer_state.json'));
        throw new Error(
          what
            ? `--resume ${dir}: it holds ${what} (${legacy ? 'saved by an earlier falcon train, whose saves were not atomic, so it cannot be resumed safely' : 'the run stopped before its first save'}); start it again with --out ${dir} --overwrite`
            : `--resume ${dir}: no training run there (no ${join(dir, 'latest.json')})`,
        );
      }
      const saved = committed.state;
      const savedOpts = saved.options as unknown as TrainOptions;
      const savedInfo = (saved.info ?? {}) as { config?: string; data?: string };
      const contradictions: string[] = [];
      const differs = (flag: string, given: unknown, was: unknown) => {
        if (given !== undefined && given !== was) contradictions.push(`--${flag} ${given} (the run's: ${was})`);
      };
      differs('batch-size', batchSize, saved.data.batchSize);
      differs('seqlen', seqlen, saved.data.seqlen);
      differs('seed', seed, saved.data.seed);
      differs('lr', lr, savedOpts.lr);
      differs('accumulate', accumulate, savedOpts.accumulate ?? 1);
      const savedConfig = hybridConfig(committed.configText, { source: join(committed.dir, 'config.json') });
      if (o.bitnet && !Object.values(savedConfig.bitnet).every(Boolean)) contradictions.push('--bitnet (the run has no BitNet layers)');
      if (o.config !== undefined) {
        const given = configJson((await readConfigArg(String(o.config), !!o.bitnet || Object.values(savedConfig.bitnet).every(Boolean))).config);
        if (given !== committed.configText) contradictions.push(`--config ${o.config} (differs from the run's config.json: ${configDiff(given, committed.configText)})`);
      }
      const dataPath = o.data !== undefined ? String(o.data) : savedInfo.data;
      if (dataPath === undefined) throw new UsageError(`--resume ${dir}: the run does not record its data file; give it with --data FILE`);
      tokens = await readTokens(dataPath);
      if (tokens.length !== saved.data.tokens || sha256(tokens) !== saved.data.sha256) {
        contradictions.push(`${o.data !== undefined ? `--data ${dataPath}` : `the run's data file ${dataPath}`} (${tokens.length} tokens, not the ${saved.data.tokens} tokens the run was trained on${o.data !== undefined ? '' : ': it changed since'})`);
      }
      if (contradictions.length) throw new UsageError(`--resume ${dir}: ${contradictions.join('; ')} contradict the saved run; leave them out to continue it as saved`);
      if (steps !== undefined && steps < committed.step) throw new UsageError(`--steps ${steps} is fewer than the ${committed.step} steps the run in ${dir} has done`);
      config = savedConfig;
      options = { ...savedOpts, steps: steps ?? savedOpts.steps, recompute, saveEvery: saveEvery ?? savedOpts.saveEvery };
      data = new TokenBatches(tokens, saved.data.batchSize, saved.data.seqlen, saved.data.seed);
      info = { ...savedInfo, data: resolve(dataPath) };
      if (committed.step >= options.steps) {
        const unlock = await lockRunDirectory(dir);
        await prepareRunDirectory(dir, committed.step).finally(unlock); // leftovers of a crash after the last commit
        out(`the run in ${dir} is already complete (${committed.step} of ${options.steps} steps); give --steps N to train it further`);
        return 0;
      }
    } else {
      dir = o.out !== undefined ? String(o.out) : 'falcon-run';
      const held = await describeRun(dir);
      if (held && !o.overwrite) throw new UsageError(`--out ${dir} holds ${held}: continue it with --resume ${dir}, or start over with --overwrite`);
      const name = o.config !== undefined ? String(o.config) : 'tiny';
      const c = await readConfigArg(name, !!o.bitnet);
      config = c.config;
      const base = config.base;
      const len = seqlen ?? 64;
      if (len > base.max_position_embeddings) throw new UsageError(`--seqlen ${len} is beyond max_position_embeddings ${base.max_position_embeddings} of ${c.source}`);
      checkBatchSize(base, batchSize ?? 8, len, `--batch-size ${batchSize ?? 8} --seqlen ${len}`);
      const dataPath = o.data !== undefined ? String(o.data) : DEFAULT_CORPUS;
      tokens = await readTokens(dataPath);
      for (let i = 0; i < tokens.length; i++) {
        if (tokens[i] >= base.vocab_size) throw new Error(`${dataPath}: token id ${tokens[i]} (at position ${i}) is beyond the vocab_size ${base.vocab_size} of ${c.source}`);
      }
      data = new TokenBatches(tokens, batchSize ?? 8, len, seed ?? 0);
      options = { steps: steps ?? 150, lr: lr ?? 3e-3, accumulate, recompute, saveEvery };
      info = { config: c.source, data: resolve(dataPath) };
    }

    if (mp) {
      // the layout is checked against the processes, the model and the batch before any process starts
      const bar = { current: undefined as ProgressBar | undefined };
      const r = await trainModelParallel(mp, o, argv, {
        config, data, options, dir, seed: seed ?? 0, overwrite: !!o.overwrite, backend, resume: o.resume !== undefined, info, recorded,
        init: () => initBackend(backend, workerBackendOptions(backend)),
        onStep: (m) => {
          if (o.json) out(JSON.stringify(m));
          bar.current ??= new ProgressBar(options.steps, { label: 'train' });
          bar.current.update(m.step, { loss: m.loss, 'tok/s': Math.round(m.tokensPerSec) });
        },
      });
      if (r.metrics && !o.json) {
        const ms = r.metrics;
        out(`trained ${options.steps} steps: loss ${ms[0]?.loss.toFixed(3) ?? '-'} → ${ms[ms.length - 1]?.loss.toFixed(3) ?? '-'}; distributed checkpoint saved to ${dir}${r.describe}; falcon export --from ${dir} --out DIR makes a Hugging Face checkpoint of it`);
      }
      return r.code;
    }
    // every check above ran here already: start the workers (--nproc-per-node), or join the job's group
    const dp = await dataParallelSetup(o, argv);
    if (dp.launched !== undefined) return dp.launched;
    try {
      await initBackend(backend, workerBackendOptions(backend));
      if (o.overwrite && dp.reports) {
        const unlock = await lockRunDirectory(dir);
        await removeRun(dir).finally(unlock);
      }
      const model = new FalconH1ForCausalLM(config, seed ?? 0);
      const trainer = dp.trainer(model, data, options, dir, info);
      if (committed) await trainer.restore(committed);
      const start = trainer.step;
      const total = trainer.options.steps;
      const bar = dp.reports ? new ProgressBar(total, { label: 'train', startAt: start }) : undefined;
      await trainer.run((m) => {
        if (o.json && dp.reports) out(JSON.stringify(m));
        bar?.update(m.step, { loss: m.loss, 'tok/s': Math.round(m.tokensPerSec) });
      });
      if (!o.json && dp.reports) {
        const { first, last } = await runLosses(dir);
        const resumed = start > 0 ? ` (steps ${start + 1}–${total} now, resumed from step ${start})` : '';
        out(`trained ${total} steps${resumed}: loss ${first?.toFixed(3) ?? '-'} → ${last?.toFixed(3) ?? '-'}; saved to ${dir}${dp.describe}`);
      }
    } finally {
      await dp.close();
    }
    return 0;
  },
};
