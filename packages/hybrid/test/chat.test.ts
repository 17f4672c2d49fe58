// falcon chat on a tiny random model with a ChatML template: the template renders as transformers
// would, each reply is the greedy continuation of the rendered conversation (computed here
// independently with generate), turns accumulate, a JSON conversation on stdin and the
// interactive loop work, and bad input is refused with one line.
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@falcon/tensor';
import type { Tensor2D } from '@falcon/tensor';
import { main } from '../src/cli/main.js';
import { FalconH1ForCausalLM, HFTokenizer } from '../src/index.js';
import { ChatTemplate } from '../src/tokenizer/chat_template.js';
import type { ChatMessage } from '../src/tokenizer/chat_template.js';
import { writeChatModel } from './chat_model.js';

/** A stdin: the given text, as a terminal or not. */
const stdin = (text: string, isTTY = false) => Object.assign(Readable.from([text]), { isTTY });

async function run(argv: string[], input = stdin('')) {
  const out: string[] = [];
  const err: string[] = [];
  let written = '';
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s), { write: (s) => (written += s), stdin: input });
  return { code, out, err, written };
}

let dir: string;
let model: FalconH1ForCausalLM;
let tok: HFTokenizer;
let template: ChatTemplate;

/** The greedy reply to a conversation, computed without the CLI. */
async function expectedReply(history: ChatMessage[], maxNewTokens: number): Promise<string> {
  const prompt = tok.encode(template.render(history), { addSpecialTokens: false });
  const out = await model.generate(tf.tensor2d([prompt], [1, prompt.length], 'int32') as Tensor2D, { maxNewTokens, eosTokenId: 2 });
  return tok.decode(((await out.array()) as number[][])[0].slice(prompt.length));
}

beforeAll(async () => {
  await initBackend('cpu');
  dir = await writeChatModel();
  model = await FalconH1ForCausalLM.fromPretrained(dir);
  tok = await HFTokenizer.fromPretrained(dir);
  template = await ChatTemplate.fromPretrained(dir);
});

describe('chat template', () => {
  it('renders ChatML as the template says', () => {
    expect(template.render([{ role: 'user', content: 'Hi' }])).toBe('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    expect(template.render([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }], { addGenerationPrompt: false })).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n',
    );
    // the special tokens encode as single ids
    expect(tok.encode('<|im_start|>user\n', { addSpecialTokens: false }).slice(0, 1)).toEqual([1]);
    expect(() => template.render([{ role: 'robot', content: 'x' }])).toThrow(/tokenizer_config.json: the chat template failed: unknown role robot/);
  });

  it('a model without a template is named', async () => {
    const bare = await writeChatModel({ template: false });
    await expect(ChatTemplate.fromPretrained(bare)).rejects.toThrow(/has no chat template \(no chat_template.jinja, and .*tokenizer_config.json has no chat_template\)/);
    const r = await run(['chat', '--model', bare, '--message', 'hi']);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^falcon chat: .* has no chat template/);
  });
});

describe('falcon chat', () => {
  it('--message turns: each reply is the greedy continuation of the conversation so far', async () => {
    const r = await run(['chat', '--model', dir, '--system', 'Be brief.', '--message', 'Hello there', '--message', 'And again?', '--max-new-tokens', '12', '--json']);
    expect(r.code, r.err.join('\n')).toBe(0);
    const replies = r.out.map((l) => JSON.parse(l) as { role: string; content: string; newTokens: number; tokensPerSecond: number });
    expect(replies).toHaveLength(2);
    const history: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }];
    expect(replies[0].content).toBe(await expectedReply(history, 12));
    history.push({ role: 'assistant', content: replies[0].content }, { role: 'user', content: 'And again?' });
    expect(replies[1].content).toBe(await expectedReply(history, 12));
    for (const x of replies) {
      expect(x.role).toBe('assistant');
      expect(x.newTokens).toBeGreaterThan(0);
      expect(x.content.length).toBeGreaterThan(0); // the random model does not stop at once: the comparison above means something
      expect(x.tokensPerSecond).toBeGreaterThan(0);
    }
  });

  it('streams the text of each reply, tokens/s on stderr', async () => {
    const r = await run(['chat', '--model', dir, '--message', 'Hello there', '--max-new-tokens', '10']);
    expect(r.code).toBe(0);
    expect(r.written).toBe((await expectedReply([{ role: 'user', content: 'Hello there' }], 10)) + '\n');
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^\d+ tokens in \d+\.\d\d s: \d+\.\d tokens\/s \(cpu\)$/);
  });

  it('a JSON conversation on stdin is answered once', async () => {
    const conv: ChatMessage[] = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: 'How are you?' }];
    const r = await run(['chat', '--model', dir, '--max-new-tokens', '8', '--json'], stdin(JSON.stringify(conv)));
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out).toHaveLength(1);
    expect(JSON.parse(r.out[0]).content).toBe(await expectedReply(conv, 8));
    const bad = await run(['chat', '--model', dir], stdin('[{"role": "user"}]'));
    expect(bad.code).toBe(2);
    expect(bad.err[0]).toMatch(/^falcon chat: the conversation on stdin must be a non-empty JSON array of \{"role": "...", "content": "..."\} messages/);
    const notJson = await run(['chat', '--model', dir], stdin('hello'));
    expect(notJson.err[0]).toMatch(/^falcon chat: the conversation on stdin is not JSON/);
  });

  it('the interactive loop on a terminal: turns, /reset, /exit', async () => {
    const r = await run(['chat', '--model', dir, '--max-new-tokens', '6'], stdin('Hello there\n/reset\nHello there\n/exit\nnot read\n', true));
    expect(r.code, r.err.join('\n')).toBe(0);
    const reply = await expectedReply([{ role: 'user', content: 'Hello there' }], 6);
    // after /reset the same message gets the same reply (the history was cleared)
    expect(r.written).toBe(`falcon chat: type a message; /reset starts over, /exit (or Ctrl-D) ends.\n> ${reply}\n> (conversation cleared)\n> ${reply}\n> `);
    expect(r.err).toHaveLength(2);
  });

  it('help and bad flags', async () => {
    expect((await run(['chat', '--help'])).out.join('\n')).toMatch(/Usage: falcon chat --model DIR/);
    const r = await run(['chat', '--model', dir, '--message', 'x', '--top-p', '2']);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/^falcon chat: --top-p must be in \(0, 1\], got '2' \(see 'falcon chat --help'\)$/);
    const tty = await run(['chat', '--model', dir, '--json'], stdin('', true));
    expect(tty.err[0]).toMatch(/--json needs --message or a JSON conversation on stdin/);
  });
});
