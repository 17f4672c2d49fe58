/**
 * `falcon generate`: continue a prompt with a saved model, greedily or by sampling, streaming the
 * text as it is produced (with `--json`: one event per token, then a summary). The flag parsing,
 * model loading and streamed decoding here are shared with `falcon chat`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BACKEND_NAMES, initBackend, tf } from '@falcon/tensor';
import type { BackendName, Tensor2D } from '@falcon/tensor';
import type { FalconH1Config } from '@falcon/checkpoint';
import { hybridConfig } from '../config.js';
import type { GenerateOptions } from '../generate.js';
import { generateStream } from '../generate.js';
import { FalconH1ForCausalLM } from '../model.js';
import { resolveModelDir } from '../train/latest.js';
import type { Tokenizer } from '../tokenizer/byte.js';
import { loadTokenizer } from '../tokenizer/hf.js';
import { IncrementalDecoder } from '../tokenizer/incremental.js';
import type { Command } from './command.js';
import { parseOptions, UsageError } from './command.js';

/** The flags of generation, shared by `falcon generate` and `falcon chat` (declarations for parseOptions). */
export const GENERATION_FLAGS = {
  model: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  sample: { type: 'boolean' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Help lines of {@link GENERATION_FLAGS}. */
export const GENERATION_HELP = [
  '  --model DIR          a model directory (config.json + model.safetensors), or a training run (its latest checkpoint)',
  '  --max-new-tokens N   tokens to add (default 64)',
  '  --sample             sample instead of greedy decoding',
  '  --temperature X      sampling temperature (default 1)',
  '  --top-k N            sample from the N most likely tokens (N ≥ 1; default all)',
  '  --top-p X            sample from the smallest set with probability X, in (0, 1] (default 1)',
  '  --seed N             sampling seed (default 0)',
  '  --backend NAME       cpu | webgpu | cuda (default cpu)',
];

/** The generation flags, checked. */
export interface GenerationFlags {
  /** The model directory given. */
  model: string;
  maxNewTokens: number;
  sampling: Pick<GenerateOptions, 'doSample' | 'temperature' | 'topK' | 'topP' | 'seed'>;
  backend: BackendName;
}

/**
 * Check the generation flags (before the backend starts, and before Dawn's or CUDA's messages).
 * @throws UsageError naming the flag and the value
 */
export function generationFlags(o: Record<string, unknown>): GenerationFlags {
  if (!o.model) throw new UsageError('--model DIR is required');
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
  return { model: String(o.model), maxNewTokens, sampling: { doSample: !!o.sample, temperature, topK, topP, seed }, backend };
}

/** A model directory's config (read before the backend starts). */
export async function readModelConfig(model: string): Promise<{ dir: string; configPath: string; config: FalconH1Config }> {
  const dir = await resolveModelDir(model); // a training run: its latest committed checkpoint
  const configPath = join(dir, 'config.json');
  const configText = await readFile(configPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${configPath}: ${e.code ?? e.message}`);
  });
  return { dir, configPath, config: hybridConfig(configText, { source: configPath }).base };
}

/** What one streamed generation did. */
export interface StreamedGeneration {
  /** The new token ids. */
  ids: number[];
  /** Their text. */
  text: string;
  /** The end of the text not handed to onText yet (bytes that did not complete a character). */
  rest: string;
  /** Seconds from the call to the last token (prefill included). */
  seconds: number;
  /** New tokens per second. */
  tokensPerSecond: number;
}

/**
 * Generate from one prompt and hand out the text as it is produced: `onText(delta, id, step)` gets
 * the new text after each token (an {@link IncrementalDecoder}'s: characters come out whole);
 * what is still held back at the end is returned as `rest`.
 * @param prompt - the prompt's ids
 * @param tok - the tokenizer (none: onText gets '')
 */
export async function streamGeneration(
  model: FalconH1ForCausalLM,
  prompt: number[],
  tok: Tokenizer | undefined,
  options: GenerateOptions,
  onText: (delta: string, id: number, step: number) => void,
): Promise<StreamedGeneration> {
  const start = performance.now();
  const ids: number[] = [];
  const decoder = tok && new IncrementalDecoder(tok);
  const input = tf.tensor2d([prompt], [1, prompt.length], 'int32') as Tensor2D;
  try {
    let step = 0;
    for await (const [id] of generateStream(model, input, options)) {
      ids.push(id);
      onText(decoder?.push(id) ?? '', id, step++);
    }
  } finally {
    input.dispose();
  }
  const seconds = (performance.now() - start) / 1000;
  return { ids, text: decoder?.text ?? '', rest: decoder?.flush() ?? '', seconds, tokensPerSecond: ids.length / Math.max(seconds, 1e-9) };
}

/** The eos ids generation stops at: the tokenizer's, else the config's (several allowed). */
export function stopTokens(tok: Tokenizer | undefined, config: FalconH1Config): number[] | null {
  const ids = new Set<number>();
  if (tok?.eosTokenId !== undefined) ids.add(tok.eosTokenId);
  for (const e of [config.eos_token_id].flat()) if (typeof e === 'number') ids.add(e);
  return ids.size ? [...ids] : null;
}

/** The `falcon generate` command. */
export const generateCommand: Command = {
  summary: 'generate text from a saved model, streaming it as it is produced',
  help: [
    'Usage: falcon generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3) [options]',
    '',
    'Prints the prompt and streams the continuation as it is produced; tokens/s go to stderr at the end.',
    '',
    'Options:',
    '  --prompt TEXT        the prompt, encoded with the model\'s tokenizer.json (or the presets\' byte tokenizer)',
    '  --prompt-ids IDS     the prompt as comma-separated token ids',
    ...GENERATION_HELP,
    '  --prefill-chunk N    feed the prompt through the cache N tokens at a time (flat prefill memory; default all at once)',
    '  --json               JSON lines instead of text: {"event":"token","step","id","text"} per token (text: the new',
    '                       characters), {"event":"text","text"} with characters held back to the end (if any), then',
    '                       {"event":"done","ids","promptLength","text","newTokens","seconds","tokensPerSecond"}',
  ].join('\n'),
  async run(argv, out, io) {
    const o = parseOptions(argv, { ...GENERATION_FLAGS, prompt: { type: 'string' }, 'prompt-ids': { type: 'string' }, 'prefill-chunk': { type: 'string' } });
    const flags = generationFlags(o);
    const prefillChunkSize = o['prefill-chunk'] === undefined ? undefined : Number(o['prefill-chunk']);
    if (prefillChunkSize !== undefined && !(Number.isSafeInteger(prefillChunkSize) && prefillChunkSize > 0)) throw new UsageError(`--prefill-chunk must be a positive integer, got '${o['prefill-chunk']}'`);
    if ((o.prompt === undefined) === (o['prompt-ids'] === undefined)) throw new UsageError('give exactly one of --prompt and --prompt-ids');
    let prompt: number[] = [];
    if (o['prompt-ids'] !== undefined) {
      prompt = String(o['prompt-ids']).split(',').map((s) => Number(s.trim()));
      if (!prompt.every((x) => Number.isInteger(x) && x >= 0)) throw new UsageError(`--prompt-ids must be comma-separated non-negative integers, got '${o['prompt-ids']}'`);
    }
    const { dir, configPath, config } = await readModelConfig(flags.model);
    const tok = await loadTokenizer(dir, config.vocab_size).catch((e) => {
      if (o.prompt !== undefined) throw e;
      return undefined;
    });
    if (o.prompt !== undefined) prompt = tok!.encode(String(o.prompt));
    if (prompt.length === 0) throw new UsageError('the prompt is empty');
    const bad = prompt.find((x) => x >= config.vocab_size);
    if (bad !== undefined) throw new UsageError(`--prompt-ids: token id ${bad} is beyond the vocab_size ${config.vocab_size} of ${configPath}`);
    if (prompt.length + flags.maxNewTokens > config.max_position_embeddings) {
      throw new UsageError(`the prompt (${prompt.length} tokens) plus --max-new-tokens ${flags.maxNewTokens} is beyond max_position_embeddings ${config.max_position_embeddings} of ${configPath}`);
    }
    await initBackend(flags.backend);
    const model = await FalconH1ForCausalLM.fromPretrained(dir);
    try {
      if (!o.json) io.write(tok?.decode(prompt) ?? '');
      const options = { ...flags.sampling, maxNewTokens: flags.maxNewTokens, eosTokenId: tok?.eosTokenId, prefillChunkSize };
      const r = await streamGeneration(model, prompt, tok, options, (text, id, step) => (o.json ? out(JSON.stringify({ event: 'token', step, id, text })) : io.write(text)));
      const all = [...prompt, ...r.ids];
      const stats = { newTokens: r.ids.length, seconds: Number(r.seconds.toFixed(4)), tokensPerSecond: Number(r.tokensPerSecond.toFixed(2)) };
      if (o.json && r.rest) out(JSON.stringify({ event: 'text', text: r.rest }));
      if (o.json) out(JSON.stringify({ event: 'done', ids: all, promptLength: prompt.length, text: tok?.decode(all) ?? '', ...stats }));
      else {
        io.write(r.rest + '\n');
        io.err(`${stats.newTokens} tokens in ${stats.seconds.toFixed(2)} s: ${stats.tokensPerSecond.toFixed(1)} tokens/s (${flags.backend})`);
      }
    } finally {
      model.dispose();
    }
    return 0;
  },
};
