/**
 * Hugging Face `tokenizer.json` tokenizers (BPE, Unigram, WordPiece, as real Falcon-H1 checkpoints
 * ship them), through the maintained `@huggingface/tokenizers` library, and {@link loadTokenizer}
 * that picks the tokenizer of a model directory.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import type { EncodeOptions, Tokenizer } from './byte.js';
import { ByteTokenizer } from './byte.js';

/** A tokenizer read from `tokenizer.json` (and `tokenizer_config.json` when present). */
export class HFTokenizer implements Tokenizer {
  /** Number of ids (model vocabulary plus added tokens). */
  readonly vocabSize: number;
  /** Id of the end-of-sequence token, if the config names one. */
  readonly eosTokenId?: number;

  /**
   * @param impl - the `@huggingface/tokenizers` tokenizer
   * @param json - the parsed tokenizer.json
   * @param config - the parsed tokenizer_config.json (or `{}`)
   */
  constructor(
    private readonly impl: HfTokenizerImpl,
    json: { model?: { vocab?: Record<string, number> | unknown[] }; added_tokens?: { id: number }[] },
    config: { eos_token?: string | { content: string } },
  ) {
    const vocab = json.model?.vocab;
    const base = Array.isArray(vocab) ? vocab.length : Object.keys(vocab ?? {}).length;
    const added = (json.added_tokens ?? []).reduce((m, t) => Math.max(m, t.id + 1), 0);
    this.vocabSize = Math.max(base, added);
    const eos = typeof config.eos_token === 'string' ? config.eos_token : config.eos_token?.content;
    if (eos) {
      const ids = this.impl.encode(eos, { add_special_tokens: false } as never).ids;
      if (ids.length === 1) this.eosTokenId = Number(ids[0]);
    }
  }

  /**
   * Read `dir/tokenizer.json` (and `dir/tokenizer_config.json`).
   * @throws naming the file when it is missing or not a tokenizer
   */
  static async fromPretrained(dir: string): Promise<HFTokenizer> {
    const file = join(dir, 'tokenizer.json');
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`cannot read ${file}: ${(e as Error).message.split('\n')[0]}`);
    }
    const cfgFile = join(dir, 'tokenizer_config.json');
    const config = existsSync(cfgFile) ? (JSON.parse(await readFile(cfgFile, 'utf8')) as Record<string, unknown>) : {};
    let impl: HfTokenizerImpl;
    try {
      impl = new HfTokenizerImpl(json, config);
    } catch (e) {
      throw new Error(`${file} is not a tokenizer @huggingface/tokenizers can read: ${(e as Error).message}`);
    }
    return new HFTokenizer(impl, json, config);
  }

  /** Text → ids (with the tokenizer's special tokens unless `addSpecialTokens: false`, as transformers). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.impl.encode(text, { add_special_tokens: options.addSpecialTokens ?? true } as never).ids.map(Number);
  }

  /** Ids → text, special tokens skipped. */
  decode(ids: ArrayLike<number>): string {
    return this.impl.decode(Array.from(ids), { skip_special_tokens: true });
  }
}

/**
 * The tokenizer of a model directory: its `tokenizer.json` when there is one, else the byte-level
 * tokenizer of the presets (which needs a vocabulary of 259).
 * @param dir - a model directory
 * @param vocabSize - the model's vocab_size, checked against the byte tokenizer's
 */
export async function loadTokenizer(dir: string, vocabSize: number): Promise<Tokenizer> {
  if (existsSync(join(dir, 'tokenizer.json'))) return HFTokenizer.fromPretrained(dir);
  const byte = new ByteTokenizer();
  if (vocabSize !== byte.vocabSize) throw new Error(`${dir} has no tokenizer.json and its vocab_size (${vocabSize}) is not the byte tokenizer's (${byte.vocabSize}): pass token ids`);
  return byte;
}
