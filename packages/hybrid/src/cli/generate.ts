/** `falcon generate`: continue a prompt with a saved model, greedily or by sampling. */
import { initBackend, tf } from '@falcon/tensor';
import type { BackendName, Tensor2D } from '@falcon/tensor';
import { FalconH1ForCausalLM } from '../model.js';
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
    '  --model DIR          a model directory (config.json + model.safetensors)',
    '  --prompt TEXT        the prompt, encoded with the model\'s tokenizer.json (or the presets\' byte tokenizer)',
    '  --prompt-ids IDS     the prompt as comma-separated token ids',
    '  --max-new-tokens N   tokens to add (default 64)',
    '  --sample             sample instead of greedy decoding',
    '  --temperature X      sampling temperature (default 1)',
    '  --top-k N            sample from the N most likely tokens',
    '  --top-p X            sample from the smallest set with probability X',
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
    const n = (v: unknown, name: string, d: number) => {
      if (v === undefined) return d;
      const x = Number(v);
      if (!Number.isFinite(x) || x < 0) throw new UsageError(`--${name} must be a non-negative number, got '${v}'`);
      return x;
    };
    await initBackend((o.backend ?? 'cpu') as BackendName);
    let prompt: number[] = [];
    if (o['prompt-ids'] !== undefined) {
      prompt = String(o['prompt-ids']).split(',').map((s) => Number(s.trim()));
      if (!prompt.every((x) => Number.isInteger(x) && x >= 0)) throw new UsageError(`--prompt-ids must be comma-separated non-negative integers, got '${o['prompt-ids']}'`);
    }
    const model = await FalconH1ForCausalLM.fromPretrained(String(o.model));
    const tok = await loadTokenizer(String(o.model), model.config.base.vocab_size).catch((e) => {
      if (o.prompt !== undefined) throw e;
      return undefined;
    });
    if (o.prompt !== undefined) prompt = tok!.encode(String(o.prompt));
    if (prompt.length === 0) throw new UsageError('the prompt is empty');
    const ids = tf.tensor2d([prompt], [1, prompt.length], 'int32') as Tensor2D;
    const result = await model.generate(ids, {
      eosTokenId: tok?.eosTokenId,
      maxNewTokens: n(o['max-new-tokens'], 'max-new-tokens', 64),
      doSample: !!o.sample,
      temperature: n(o.temperature, 'temperature', 1),
      topK: n(o['top-k'], 'top-k', 0),
      topP: n(o['top-p'], 'top-p', 1),
      seed: n(o.seed, 'seed', 0),
    });
    const all = (result.arraySync() as number[][])[0];
    const text = tok?.decode(all) ?? '';
    out(o.json ? JSON.stringify({ ids: all, promptLength: prompt.length, text }) : text);
    return 0;
  },
};
