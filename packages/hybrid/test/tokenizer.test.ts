// tokenizer.json through @huggingface/tokenizers (a small BPE written here), and the choice of tokenizer per model directory.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ByteTokenizer } from '../src/index.js';
import { HFTokenizer, loadTokenizer } from '../src/tokenizer/hf.js';

// A byte-level BPE over a handful of merges, in the tokenizer.json format transformers writes.
const vocab: Record<string, number> = { '<|pad|>': 0, '<|bos|>': 1, '<|eos|>': 2 };
const chars = 'abcdehilnorstĠ';
for (const c of chars) vocab[c] = Object.keys(vocab).length;
for (const m of ['th', 'the', 'Ġthe', 'er', 'es', 'ĠbĠ']) vocab[m] = Object.keys(vocab).length;
const TOKENIZER = {
  version: '1.0',
  added_tokens: [
    { id: 0, content: '<|pad|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    { id: 1, content: '<|bos|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    { id: 2, content: '<|eos|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
  ],
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: null,
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: ['t h', 'th e', 'Ġ the', 'e r', 'e s'] },
};

describe('tokenizers', () => {
  it('reads a tokenizer.json and round-trips text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'falcon-tok-'));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(TOKENIZER));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|eos|>' }));
    const tok = await HFTokenizer.fromPretrained(dir);
    const ids = tok.encode('the other the tree');
    expect(ids.slice(0, 1)).toEqual([vocab.the]);
    expect(ids).toContain(vocab['Ġthe']);
    expect(tok.decode(ids)).toBe('the other the tree');
    expect(tok.eosTokenId).toBe(2);
    expect(tok.vocabSize).toBe(Object.keys(vocab).length);
    expect(await loadTokenizer(dir, 999)).toBeInstanceOf(HFTokenizer);
  });
  it('falls back to the byte tokenizer only for a 259-token vocabulary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'falcon-tok-'));
    expect(await loadTokenizer(dir, 259)).toBeInstanceOf(ByteTokenizer);
    await expect(loadTokenizer(dir, 128)).rejects.toThrow(/no tokenizer.json and its vocab_size \(128\)/);
    writeFileSync(join(dir, 'tokenizer.json'), '{ not json');
    await expect(HFTokenizer.fromPretrained(dir)).rejects.toThrow(/cannot read .*tokenizer.json/);
  });
});
