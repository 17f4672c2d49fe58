/**
 * The byte-level tokenizer of the built-in presets: one token per UTF-8 byte (id = byte + 3),
 * with pad = 0, bos = 1, eos = 2 as Falcon-H1 configs number them. Nothing to download.
 */

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Add the tokenizer's special tokens (its post-processor: BOS, …); default true, false for text a chat template rendered. */
  addSpecialTokens?: boolean;
}

/** A tokenizer: text to ids and back. */
export interface Tokenizer {
  /** Number of ids. */
  readonly vocabSize: number;
  /** Id of the end-of-sequence token, if any. */
  readonly eosTokenId?: number;
  /** Text → ids. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Ids → text (special tokens dropped). */
  decode(ids: ArrayLike<number>): string;
}

/** Byte-level tokenizer with 3 special ids in front (vocab 259). */
export class ByteTokenizer implements Tokenizer {
  /** pad 0, bos 1, eos 2, then the 256 bytes. */
  readonly vocabSize = 259;
  /** The id of the end-of-sequence token. */
  readonly eosTokenId = 2;
  /** The id of the padding token. */
  readonly padTokenId = 0;
  /** The id of the beginning-of-sequence token. */
  readonly bosTokenId = 1;

  /** Text → ids (UTF-8 bytes + 3; no special tokens are added, whatever the options). */
  encode(text: string, _options?: EncodeOptions): number[] {
    return Array.from(new TextEncoder().encode(text), (b) => b + 3);
  }

  /** Ids → text; ids below 3 (special) are dropped, invalid UTF-8 becomes U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) if (ids[i] >= 3 && ids[i] < 259) bytes.push(ids[i] - 3);
    return new TextDecoder().decode(new Uint8Array(bytes));
  }
}
