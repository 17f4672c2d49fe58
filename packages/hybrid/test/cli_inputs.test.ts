// Every input of `falcon train` and `falcon generate` checked before work starts: negative numbers
// as values, sampling flags out of range, token ids beyond the vocabulary, sequences beyond
// max_position_embeddings, absurd model sizes, a saved config.json with {"__float__": "Infinity"};
// each a one-line error naming the flag or file, and (in a real process) before Dawn's messages.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { FalconH1ForCausalLM, hybridConfig } from '../src/index.js';
import { falcon } from './cli_process.js';

const CONFIG = {
  model_type: 'falcon_h1', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, mamba_d_ssm: 16, mamba_n_heads: 2, mamba_d_head: 8,
  mamba_d_state: 4, mamba_chunk_size: 8, tie_word_embeddings: true, max_position_embeddings: 32,
};

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('falcon CLI input checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'falcon-inputs-'));
  const model = join(dir, 'model');
  const tokens = join(dir, 'tokens.json');
  beforeAll(async () => {
    await new FalconH1ForCausalLM(hybridConfig(CONFIG), 1).savePretrained(model);
    writeFileSync(tokens, JSON.stringify(Array.from({ length: 200 }, (_, i) => 3 + (i % 30))));
    writeFileSync(join(dir, 'big-ids.json'), JSON.stringify([1, 2, 3, 40, 5, 6, 7, 8, 9, 10, 11, 12]));
    writeFileSync(join(dir, 'huge.json'), JSON.stringify({ ...CONFIG, num_hidden_layers: 1e9 }));
    writeFileSync(join(dir, 'wide.json'), JSON.stringify({ ...CONFIG, vocab_size: 3e6, hidden_size: 1024, mamba_d_ssm: 1024, mamba_d_head: 512, head_dim: 512 }));
  });

  it('one-line errors that name the flag or the file', async () => {
    const cfg = join(model, 'config.json');
    const out = join(dir, 'unused-run');
    const cases: [string[], number, RegExp][] = [
      // negative numbers are values, so the range check speaks (not node:util's "ambiguous")
      [['train', '--lr', '-1'], 2, /^falcon train: --lr must be a positive number, got '-1' \(see 'falcon train --help'\)$/],
      [['train', '--lr', '-3e-4'], 2, /--lr must be a positive number, got '-3e-4'/],
      [['train', '--steps', '-3'], 2, /--steps must be a positive integer, got '-3'/],
      [['train', '--seed', '-2', '--steps', '0'], 2, /--steps must be a positive integer, got '0'/], // -2 is a fine seed
      [['train', '--seqlen', '1'], 2, /--seqlen must be at least 2/],
      [['train', '--backend', 'tpu'], 2, /--backend must be cpu, webgpu, cuda, got 'tpu'/],
      [['train', '--config', cfg, '--data', tokens, '--seqlen', '33', '--out', out], 2, new RegExp(`--seqlen 33 is beyond max_position_embeddings 32 of ${cfg}`)],
      [['train', '--config', cfg, '--data', join(dir, 'big-ids.json'), '--seqlen', '8', '--out', out], 1, /big-ids.json: token id 40 \(at position 3\) is beyond the vocab_size 40 of .*config.json$/],
      [['train', '--config', join(dir, 'huge.json'), '--out', out], 1, /huge.json: the model would have .* parameters \(.* GiB as float32\), more than this machine's .* of memory \(num_hidden_layers 1000000000,/],
      [['train', '--config', join(dir, 'wide.json'), '--out', out], 1, /wide.json: model.embed_tokens.weight would hold 3\.072e\+9 elements, more than the 2147483647 one tensor can index/],
      [['train', '--batch-size', '1000000000', '--out', out], 1, /^falcon train: --batch-size 1000000000 --seqlen 64: one step needs at least .* GiB for its logits and activations \(batch 1000000000 × seqlen 64, vocab_size \d+\), more than this machine's .* of memory$/],
      [['generate', '--model', model, '--prompt-ids', '1,2', '--top-p', '0'], 2, /^falcon generate: --top-p must be in \(0, 1\], got '0' \(see/],
      [['generate', '--model', model, '--prompt-ids', '1,2', '--top-p', '1.5'], 2, /--top-p must be in \(0, 1\], got '1.5'/],
      [['generate', '--model', model, '--prompt-ids', '1,2', '--top-p', '-0.5'], 2, /--top-p must be in \(0, 1\], got '-0.5'/],
      [['generate', '--model', model, '--prompt-ids', '1,2', '--top-k', '0'], 2, /--top-k must be a positive integer \(leave it out to keep every token\), got '0'/],
      [['generate', '--model', model, '--prompt-ids', '1,2', '--top-k', '2.5'], 2, /--top-k must be a positive integer/],
      [['generate', '--model', model, '--prompt-ids', '1,2', '--temperature', '0'], 2, /--temperature must be a positive number, got '0'/],
      [['generate', '--model', model, '--prompt-ids', '1,2', '--max-new-tokens', '-1'], 2, /--max-new-tokens must be a non-negative integer, got '-1'/],
      [['generate', '--model', model, '--prompt-ids', '1,99'], 2, new RegExp(`--prompt-ids: token id 99 is beyond the vocab_size 40 of ${cfg}`)],
      [['generate', '--model', model, '--prompt-ids', '1,2,3', '--max-new-tokens', '30'], 2, new RegExp(`the prompt \\(3 tokens\\) plus --max-new-tokens 30 is beyond max_position_embeddings 32 of ${cfg}`)],
    ];
    for (const [argv, code, message] of cases) {
      const t0 = performance.now();
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(code);
      expect(r.err.split('\n'), argv.join(' ')).toHaveLength(1);
      expect(r.err, argv.join(' ')).toMatch(message);
      expect(performance.now() - t0, `${argv.join(' ')}: refused before allocating`).toBeLessThan(5000);
    }
  });

  it('train --config reads a saved config.json holding {"__float__": "Infinity"}', async () => {
    const text = readFileSync(join(model, 'config.json'), 'utf8');
    expect(text).toMatch(/"time_step_limit": \[\s*0\.0,\s*\{\s*"__float__": "Infinity"\s*\}\s*\]/); // transformers 5's form
    writeFileSync(join(dir, 'bare.json'), text.replace(/\{\s*"__float__": "Infinity"\s*\}/, 'Infinity')); // Python's json.dumps form
    for (const config of [join(model, 'config.json'), model, join(dir, 'bare.json')]) {
      const out = mkdtempSync(join(tmpdir(), 'falcon-float-'));
      const r = await run(['train', '--config', config, '--data', tokens, '--steps', '1', '--batch-size', '1', '--seqlen', '8', '--out', out, '--overwrite']);
      expect(r.err, config).toBe('');
      expect(r.code, config).toBe(0);
      expect(r.out).toMatch(/^trained 1 steps: loss \d/);
    }
  });

  it('in a real process, a bad flag is the only line on stderr: no backend (Dawn, Vulkan) message first', async () => {
    for (const args of [
      ['train', '--backend', 'webgpu', '--steps', '0'],
      ['train', '--backend', 'webgpu', '--lr', '-1'],
      ['generate', '--backend', 'webgpu', '--model', model, '--prompt-ids', '1', '--top-k', '0'],
    ]) {
      const r = await falcon(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), `${args.join(' ')}: ${r.stderr}`).toHaveLength(1);
      expect(r.stderr).toMatch(/^falcon (train|generate): --/);
    }
  });
});
