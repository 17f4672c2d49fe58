/**
 * `IncrementalDecoder`: the text of a growing list of token ids, handed out piece by piece as
 * tokens arrive (what streamed generation prints), never cutting a character in two.
 */
import type { Tokenizer } from './byte.js';

/** Decodes tokens as they arrive (see the module comment). */
export class IncrementalDecoder {
  private readonly ids: number[] = [];
  private shown = '';
  private held = 0;

  /** @param tokenizer - decodes the ids (special tokens dropped, as its decode does) */
  constructor(private readonly tokenizer: Tokenizer) {}

  /**
   * Add a token; returns the new text. While the text ends inside a character (decoded as U+FFFD)
   * it is held back, for at most 3 tokens (a UTF-8 character has at most 4 bytes; bytes that
   * never complete one are shown after that).
   * @param id - the next token id
   */
  push(id: number): string {
    this.ids.push(id);
    const text = this.tokenizer.decode(this.ids);
    if ((text.endsWith('\uFFFD') && this.held < 3) || !text.startsWith(this.shown)) {
      this.held++;
      return '';
    }
    const delta = text.slice(this.shown.length);
    this.shown = text;
    this.held = 0;
    return delta;
  }

  /** The text held back so far (at the end of a stream), handed out now. */
  flush(): string {
    const text = this.tokenizer.decode(this.ids);
    const rest = text.startsWith(this.shown) ? text.slice(this.shown.length) : '';
    this.shown = text;
    this.held = 0;
    return rest;
  }

  /** The whole text of the tokens so far. */
  get text(): string {
    return this.tokenizer.decode(this.ids);
  }
}
