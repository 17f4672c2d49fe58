/**
 * `falcon chat`: a conversation with an instruct model, through its chat template
 * (tokenizer_config.json's Jinja `chat_template`): an interactive loop on a terminal, or, for
 * scripts and tests, the turns given by `--message` (repeated) or as a JSON conversation on stdin.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { initBackend } from '@falcon/tensor';
import type { FalconH1Config } from '@falcon/checkpoint';
import { FalconH1ForCausalLM } from '../model.js';
import type { ChatMessage } from '../tokenizer/chat_template.js';
import { ChatTemplate } from '../tokenizer/chat_template.js';
import type { Tokenizer } from '../tokenizer/byte.js';
import { loadTokenizer } from '../tokenizer/hf.js';
import type { Command, CommandIO } from './command.js';
import { parseOptions, UsageError } from './command.js';
import type { GenerationFlags } from './generate.js';
import { GENERATION_FLAGS, GENERATION_HELP, generationFlags, readModelConfig, stopTokens, streamGeneration } from './generate.js';

/** Read a JSON conversation: an array of `{role, content}` with string fields. */
function parseConversation(text: string, where: string): ChatMessage[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${where} is not JSON: ${(e as Error).message}`);
  }
  const ok = Array.isArray(v) && v.length > 0 && v.every((m) => m && typeof m === 'object' && typeof (m as ChatMessage).role === 'string' && typeof (m as ChatMessage).content === 'string');
  if (!ok) throw new UsageError(`${where} must be a non-empty JSON array of {"role": "...", "content": "..."} messages`);
  return (v as ChatMessage[]).map(({ role, content }) => ({ role, content }));
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text;
}

/** The eos ids of generation_config.json (instruct models list the end-of-turn token there). */
async function generationConfigEos(dir: string): Promise<number[]> {
  const file = join(dir, 'generation_config.json');
  if (!existsSync(file)) return [];
  const g = JSON.parse(await readFile(file, 'utf8')) as { eos_token_id?: number | number[] };
  return [g.eos_token_id ?? []].flat().filter((x): x is number => Number.isInteger(x));
}

/** One assistant reply to a conversation, streamed to `onText`. */
interface Replier {
  (history: ChatMessage[], onText: (delta: string) => void): Promise<{ content: string; newTokens: number; seconds: number; tokensPerSecond: number }>;
}

function replier(model: FalconH1ForCausalLM, tok: Tokenizer, template: ChatTemplate, config: FalconH1Config, flags: GenerationFlags, eos: number[]): Replier {
  return async (history, onText) => {
    const prompt = tok.encode(template.render(history, { addGenerationPrompt: true }), { addSpecialTokens: false });
    const room = config.max_position_embeddings - prompt.length;
    if (room < 1) throw new Error(`the conversation (${prompt.length} tokens) fills the model's max_position_embeddings ${config.max_position_embeddings}; start over (/reset)`);
    const options = { ...flags.sampling, maxNewTokens: Math.min(flags.maxNewTokens, room), eosTokenId: eos.length ? eos : null };
    const r = await streamGeneration(model, prompt, tok, options, (delta) => onText(delta));
    if (r.rest) onText(r.rest);
    return { content: r.text, newTokens: r.ids.length, seconds: r.seconds, tokensPerSecond: r.tokensPerSecond };
  };
}

const stats = (r: { newTokens: number; seconds: number; tokensPerSecond: number }, backend: string) => `${r.newTokens} tokens in ${r.seconds.toFixed(2)} s: ${r.tokensPerSecond.toFixed(1)} tokens/s (${backend})`;

/** The interactive loop: a line is a user turn; /reset starts over; /exit or end of input ends. */
async function repl(reply: Replier, system: ChatMessage[], io: CommandIO, backend: string): Promise<void> {
  const history = [...system];
  io.write("falcon chat: type a message; /reset starts over, /exit (or Ctrl-D) ends.\n> ");
  const rl = createInterface({ input: io.stdin, terminal: false });
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === '/exit' || line === '/quit') break;
    if (line === '/reset') {
      history.splice(0, history.length, ...system);
      io.write('(conversation cleared)\n> ');
      continue;
    }
    if (line) {
      history.push({ role: 'user', content: line });
      try {
        const r = await reply(history, io.write);
        history.push({ role: 'assistant', content: r.content });
        io.write('\n');
        io.err(stats(r, backend));
      } catch (e) {
        history.pop();
        io.err(`falcon chat: ${(e as Error).message}`);
      }
    }
    io.write('> ');
  }
  rl.close();
}

/** The `falcon chat` command. */
export const chatCommand: Command = {
  summary: "chat with an instruct model through its chat template",
  help: [
    'Usage: falcon chat --model DIR [--system TEXT] [--message TEXT ...] [options]',
    '',
    "Builds each prompt with the model's chat template (tokenizer_config.json's chat_template, or chat_template.jinja)",
    'and streams the reply. On a terminal: an interactive loop (/reset starts over, /exit or Ctrl-D ends).',
    'Otherwise each --message is a user turn, answered in order; without --message, a JSON conversation',
    '[{"role": "user", "content": "..."}, ...] read from stdin is answered once (the next assistant turn).',
    '',
    'Options:',
    '  --system TEXT        a system message in front of the conversation',
    '  --message TEXT       a user turn (repeat for several turns)',
    ...GENERATION_HELP,
    '  --json               one JSON line per reply: {"role":"assistant","content","newTokens","seconds","tokensPerSecond"}',
  ].join('\n'),
  async run(argv, out, io) {
    const o = parseOptions(argv, { ...GENERATION_FLAGS, system: { type: 'string' }, message: { type: 'string', multiple: true } });
    const flags = generationFlags(o);
    const messages = (o.message as string[] | undefined) ?? [];
    const system: ChatMessage[] = o.system !== undefined ? [{ role: 'system', content: String(o.system) }] : [];
    const interactive = messages.length === 0 && !!io.stdin.isTTY;
    if (interactive && o.json) throw new UsageError('--json needs --message or a JSON conversation on stdin (not an interactive terminal)');
    const conversation = messages.length === 0 && !interactive ? parseConversation(await readAll(io.stdin), 'the conversation on stdin') : undefined;
    const { dir, config } = await readModelConfig(flags.model);
    const tok = await loadTokenizer(dir, config.vocab_size);
    const template = await ChatTemplate.fromPretrained(dir);
    const eos = [...new Set([...(stopTokens(tok, config) ?? []), ...(await generationConfigEos(dir))])];
    await initBackend(flags.backend);
    const model = await FalconH1ForCausalLM.fromPretrained(dir);
    try {
      const reply = replier(model, tok, template, config, flags, eos);
      if (interactive) {
        await repl(reply, system, io, flags.backend);
        return 0;
      }
      const history: ChatMessage[] = conversation ? [...system, ...conversation] : [...system];
      const turns = conversation ? [undefined] : messages;
      for (const m of turns) {
        if (m !== undefined) history.push({ role: 'user', content: m });
        const r = await reply(history, (delta) => !o.json && io.write(delta));
        history.push({ role: 'assistant', content: r.content });
        if (o.json) out(JSON.stringify({ role: 'assistant', content: r.content, newTokens: r.newTokens, seconds: Number(r.seconds.toFixed(4)), tokensPerSecond: Number(r.tokensPerSecond.toFixed(2)) }));
        else {
          io.write('\n');
          io.err(stats(r, flags.backend));
        }
      }
    } finally {
      model.dispose();
    }
    return 0;
  },
};
