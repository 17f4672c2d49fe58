/**
 * Chat templates: the Jinja template an instruct model ships (`chat_template` of
 * `tokenizer_config.json`, or `chat_template.jinja` beside it, as transformers writes them),
 * rendered with the maintained `@huggingface/jinja` into the prompt text of a conversation.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';

/** One turn of a conversation (transformers' message format). */
export interface ChatMessage {
  /** `system`, `user` or `assistant` (a template may know others, e.g. `tool`). */
  role: string;
  /** The text of the turn. */
  content: string;
}

/** Options of {@link ChatTemplate.render}. */
export interface ChatRenderOptions {
  /** End with the start of an assistant turn, for generating it (default true). */
  addGenerationPrompt?: boolean;
}

type TokenField = string | { content?: string } | null | undefined;
const tokenText = (t: TokenField): string | undefined => (typeof t === 'string' ? t : (t?.content ?? undefined));

/** A model's chat template, ready to render conversations. */
export class ChatTemplate {
  private readonly template: Template;

  /**
   * @param source - the Jinja text
   * @param specialTokens - the tokenizer's special tokens by name (`bos_token`, `eos_token`, …), visible to the template
   * @param where - what to name in errors (the file)
   * @throws naming `where` when the template does not parse
   */
  constructor(
    readonly source: string,
    readonly specialTokens: Record<string, string> = {},
    private readonly where = 'chat template',
  ) {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new Error(`${where}: the chat template does not parse: ${(e as Error).message}`);
    }
  }

  /**
   * The chat template of a model directory: `chat_template.jinja` if present, else the
   * `chat_template` of `tokenizer_config.json` (a string, or a list of `{name, template}` of which
   * the one named `default` is used), with that file's special tokens.
   * @param dir - a model directory
   * @throws naming the file when there is no template or it does not parse
   */
  static async fromPretrained(dir: string): Promise<ChatTemplate> {
    const cfgFile = join(dir, 'tokenizer_config.json');
    let config: Record<string, unknown> = {};
    if (existsSync(cfgFile)) {
      try {
        config = JSON.parse(await readFile(cfgFile, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new Error(`cannot read ${cfgFile}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    const specials: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
      const text = k.endsWith('_token') ? tokenText(v as TokenField) : undefined;
      if (text !== undefined) specials[k] = text;
    }
    const jinjaFile = join(dir, 'chat_template.jinja');
    if (existsSync(jinjaFile)) return new ChatTemplate(await readFile(jinjaFile, 'utf8'), specials, jinjaFile);
    const t = config.chat_template;
    const source = typeof t === 'string' ? t : Array.isArray(t) ? (t as { name?: string; template?: string }[]).find((x) => x.name === 'default')?.template : undefined;
    if (typeof source !== 'string') {
      throw new Error(`${dir} has no chat template (no chat_template.jinja, and ${existsSync(cfgFile) ? `${cfgFile} has no chat_template${Array.isArray(t) ? " named 'default'" : ''}` : `no ${cfgFile}`}); falcon chat needs an instruct model's tokenizer files`);
    }
    return new ChatTemplate(source, specials, cfgFile);
  }

  /**
   * The prompt text of a conversation.
   * @param messages - the turns so far
   * @throws naming the file when the template raises (`raise_exception`) or fails
   */
  render(messages: ChatMessage[], options: ChatRenderOptions = {}): string {
    try {
      // @huggingface/jinja provides the helpers templates call (raise_exception, strftime_now)
      return this.template.render({ ...this.specialTokens, messages, add_generation_prompt: options.addGenerationPrompt ?? true });
    } catch (e) {
      throw new Error(`${this.where}: the chat template failed: ${(e as Error).message}`);
    }
  }
}
