/** `falcon export --from RUN_OR_CHECKPOINT_DIR --out DIR`: a distributed checkpoint as one Hugging Face checkpoint. */
import { exportHuggingFace } from '../train/distributed_checkpoint/export.js';
import type { Command } from './command.js';
import { parseOptions, UsageError } from './command.js';
import { ProgressBar } from './progress.js';

/** The `falcon export` command. */
export const exportCommand: Command = {
  summary: 'write a distributed checkpoint (any layout) as one Hugging Face checkpoint',
  help: [
    'Usage: falcon export --from RUN_OR_CHECKPOINT_DIR --out DIR [options]',
    '',
    'Assembles every weight from the rank files of a distributed checkpoint (saved under any',
    'tensor/context/pipeline/data-parallel layout) and writes config.json and model.safetensors',
    'with Hugging Face names, which transformers and `falcon generate` load.',
    '',
    'Options:',
    '  --from DIR                  a training run directory (its latest checkpoint) or a checkpoint directory',
    '  --out DIR                   where the Hugging Face checkpoint is written',
    '  --dtype float32|bfloat16    stored dtype of the weights (default float32)',
    '  --no-verify                 check the rank files by size only (default: SHA-256)',
    '  --json                      print a JSON summary',
  ].join('\n'),
  async run(argv, out) {
    const o = parseOptions(argv, {
      from: { type: 'string' },
      out: { type: 'string' },
      dtype: { type: 'string' },
      'no-verify': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    if (!o.from || !o.out) throw new UsageError('--from DIR and --out DIR are required');
    const dtype = (o.dtype ?? 'float32') as string;
    if (dtype !== 'float32' && dtype !== 'bfloat16') throw new UsageError(`--dtype must be float32 or bfloat16, got '${dtype}'`);
    let bar: ProgressBar | undefined;
    const summary = await exportHuggingFace(String(o.from), String(o.out), {
      dtype,
      verify: o['no-verify'] ? 'size' : 'sha256',
      onTensor: (done, total) => (bar ??= new ProgressBar(total, { label: 'export' })).update(done),
    });
    const { tp, cp, pp, dp } = summary.sizes;
    out(o.json ? JSON.stringify(summary) : `exported step ${summary.step} (saved under tp ${tp} × cp ${cp} × pp ${pp} × dp ${dp}) → ${summary.out}: ${summary.tensors} tensors, ${dtype}`);
    return 0;
  },
};
