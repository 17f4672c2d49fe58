/** `falcon convert --from-llama DIR --out DIR`: a Llama checkpoint to Falcon-H1 (Mamba-2 added fresh). */
import { convertFromLlama } from '../convert.js';
import type { Command } from './command.js';
import { parseOptions, UsageError } from './command.js';

/** The `falcon convert` command. */
export const convertCommand: Command = {
  summary: 'convert a Llama checkpoint to Falcon-H1 (attention and MLP copied, Mamba-2 added)',
  help: [
    'Usage: falcon convert --from-llama DIR --out DIR [options]',
    '',
    'Copies attention, MLP, norms and embeddings; adds Mamba-2 heads initialised fresh.',
    '',
    'Options:',
    '  --from-llama DIR     the Llama checkpoint (config.json + model.safetensors or an index)',
    '  --out DIR            where the Falcon-H1 checkpoint is written',
    '  --mamba-heads N      Mamba-2 heads per layer (default: the attention heads)',
    '  --mamba-head-dim N   Mamba-2 head dim (default: the attention head dim)',
    '  --mamba-d-state N    SSM state size (default 64)',
    '  --zero-mamba-out     start Mamba-2 with a zero output projection (the model then equals the Llama model)',
    '  --seed N             seed of the new weights (default 0)',
    '  --json               print a JSON summary',
  ].join('\n'),
  async run(argv, out) {
    const o = parseOptions(argv, {
      'from-llama': { type: 'string' },
      out: { type: 'string' },
      'mamba-heads': { type: 'string' },
      'mamba-head-dim': { type: 'string' },
      'mamba-d-state': { type: 'string' },
      'zero-mamba-out': { type: 'boolean' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (!o['from-llama'] || !o.out) throw new UsageError('--from-llama DIR and --out DIR are required');
    const int = (v: unknown, name: string) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got '${v}'`);
      return n;
    };
    const model = await convertFromLlama(String(o['from-llama']), {
      mambaHeads: int(o['mamba-heads'], 'mamba-heads'),
      mambaHeadDim: int(o['mamba-head-dim'], 'mamba-head-dim'),
      mambaDState: int(o['mamba-d-state'], 'mamba-d-state'),
      zeroMambaOut: !!o['zero-mamba-out'],
      seed: int(o.seed, 'seed'),
    });
    await model.savePretrained(String(o.out));
    const b = model.config.base;
    const summary = { out: o.out, layers: b.num_hidden_layers, attentionHeads: b.num_attention_heads, mambaHeads: b.mamba_n_heads, dSsm: b.mamba_d_ssm, zeroMambaOut: !!o['zero-mamba-out'] };
    out(o.json ? JSON.stringify(summary) : `converted ${o['from-llama']} → ${o.out}: ${b.num_hidden_layers} layers, ${b.num_attention_heads} attention + ${b.mamba_n_heads} Mamba-2 heads each`);
    return 0;
  },
};
