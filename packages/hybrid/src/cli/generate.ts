/** `falcon generate`: continue a prompt with a saved model, greedily or by sampling. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BACKEND_NAMES, initBackend, tf } from '@falcon/tensor';
import type { BackendName, Tensor2D } from '@falcon/tensor';
import { hybridConfig } from '../config.js';
import { FalconH1ForCausalLM } from '../model.js';
import { resolveModelDir } from '../train/latest.js';
import { loadTokenizer } from '../tokenizer/hf.js';
import type { Command } from './command.js';
import { parseOptions, UsageError } from './command.js';

/** The `falcon generate` command. */
export const generateCommand: Command = {
  summary: 'generate text from a saved model',
  help: [
    'Usage: falcon generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3) [options]',
    '',
    'Options:',
    '  --model DIR          a model directory (config.json + model.safetensors), or a training run (its latest checkpoint)',
    '  --prompt TEXT        the prompt, encoded with the model\'s tokenizer.json (or the presets\' byte tokenizer)',
    '  --prompt-ids IDS     the prompt as comma-separated token ids',
    '  --max-new-tokens N   tokens to add (default 64)',
    '  --sample             sample instead of greedy decoding',
    '  --temperature X      sampling temperature (default 1)',
    '  --top-k N            sample from the N most likely tokens (N ≥ 1; default all)',
    '  --top-p X            sample from the smallest set with probability X, in (0, 1] (default 1)',
    '  --seed N             sampling seed (default 0)',
    '  --backend NAME       cpu | webgpu | cuda (default cpu)',
    '  --json               print {"ids": [...], "text": "..."} instead of the text',
  ].join('\n'),
  async run(argv, out) {
    const o = parseOptions(argv, {
      model: { type: 'string' },
      prompt: { type: 'string' },
      'prompt-ids': { type: 'string' },
      'max-new-tokens': { type: 'string' },
      sample: { type: 'boolean' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (!o.model) throw new UsageError('--model DIR is required');
    if ((o.prompt === undefined) === (o['prompt-ids'] === undefined)) throw new UsageError('give exactly one of --prompt and --prompt-ids');
    // every flag and the model's config are checked before the backend starts (and before Dawn's or CUDA's messages)
    const n = (v: unknown, name: string, d: number, ok: (x: number) => boolean, what: string) => {
      if (v === undefined) return d;
      const x = Number(v);
      if (!ok(x)) throw new UsageError(`--${name} must be ${what}, got '${v}'`);
      return x;
    };
    const maxNewTokens = n(o['max-new-tokens'], 'max-new-tokens', 64, (x) => Number.isSafeInteger(x) && x >= 0, 'a non-negative integer');
    const temperature = n(o.temperature, 'temperature', 1, (x) => Number.isFinite(x) && x > 0, 'a positive number');
    const topK = n(o['top-k'], 'top-k', 0, (x) => Number.isSafeInteger(x) && x > 0, 'a positive integer (leave it out to keep every token)');
    const topP = n(o['top-p'], 'top-p', 1, (x) => x > 0 && x <= 1, 'in (0, 1]');
    const seed = n(o.seed, 'seed', 0, (x) => Number.isSafeInteger(x), 'an integer');
    const backend = (o.backend ?? 'cpu') as BackendName;
    if (!BACKEND_NAMES.includes(backend)) throw new UsageError(`--backend must be ${BACKEND_NAMES.join(', ')}, got '${backend}'`);
    let prompt: number[] = [];
    if (o['prompt-ids'] !== undefined) {
      prompt = String(o['prompt-ids']).split(',').map((s) => Number(s.trim()));
      if (!prompt.every((x) => Number.isInteger(x) && x >= 0)) throw new UsageError(`--prompt-ids must be comma-separated non-negative integers, got '${o['prompt-ids']}'`);
    }
    const dir = await resolveModelDir(String(o.model)); // a training run: its latest committed checkpoint
    const configPath = join(dir, 'config.json');
    const configText = await readFile(configPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new Error(`cannot read ${configPath}: ${e.code ?? e.message}`);
    });
    const config = hybridConfig(configText, { source: configPath }).base;
    const tok = await loadTokenizer(dir, config.vocab_size).catch((e) => {
      if (o.prompt !== undefined) throw e;
      return undefined;
    });
    if (o.prompt !== undefined) prompt = tok!.encode(String(o.prompt));
    if (prompt.length === 0) throw new UsageError('the prompt is empty');
    const bad = prompt.find((x) => x >= config.vocab_size);
    if (bad !== undefined) throw new UsageError(`--prompt-ids: token id ${bad} is beyond the vocab_size ${config.vocab_size} of ${configPath}`);
    if (prompt.length + maxNewTokens > config.max_position_embeddings) {
      throw new UsageError(`the prompt (${prompt.length} tokens) plus --max-new-tokens ${maxNewTokens} is beyond max_position_embeddings ${config.max_position_embeddings} of ${configPath}`);
    }
    await initBackend(backend);
    const model = await FalconH1ForCausalLM.fromPretrained(dir);
    const ids = tf.tensor2d([prompt], [1, prompt.length], 'int32') as Tensor2D;
    const result = await model.generate(ids, { eosTokenId: tok?.eosTokenId, maxNewTokens, doSample: !!o.sample, temperature, topK, topP, seed });
    const all = (result.arraySync() as number[][])[0];
    const text = tok?.decode(all) ?? '';
    out(o.json ? JSON.stringify({ ids: all, promptLength: prompt.length, text }) : text);
    return 0;
  },
};
