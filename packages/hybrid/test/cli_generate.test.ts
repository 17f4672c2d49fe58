// falcon generate streams: the text written piece by piece is the prompt and then the decoded
// continuation, equal to generate()'s greedy tokens; --json gives one event per token (ids and
// text deltas adding up to the continuation) and a summary with tokens/s.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@falcon/tensor';
import type { Tensor2D } from '@falcon/tensor';
import { main } from '../src/cli/main.js';
import { FalconH1ForCausalLM, HFTokenizer } from '../src/index.js';
import { IncrementalDecoder } from '../src/tokenizer/incremental.js';
import { writeChatModel } from './chat_model.js';

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const writes: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s), { write: (s) => writes.push(s) });
  return { code, out, err, writes };
}

let dir: string;
let tok: HFTokenizer;
let want: number[]; // the greedy continuation of PROMPT, from generate()
const PROMPT = 'Once upon a time, ñ';

beforeAll(async () => {
  await initBackend('cpu');
  dir = await writeChatModel({ seed: 4 });
  tok = await HFTokenizer.fromPretrained(dir);
  const model = await FalconH1ForCausalLM.fromPretrained(dir);
  const ids = tok.encode(PROMPT);
  const out = await model.generate(tf.tensor2d([ids], [1, ids.length], 'int32') as Tensor2D, { maxNewTokens: 16, eosTokenId: tok.eosTokenId });
  want = ((await out.array()) as number[][])[0].slice(ids.length);
  model.dispose();
});

describe('falcon generate', () => {
  it('streams the prompt, then the continuation as it is produced, tokens/s on stderr', async () => {
    const r = await run(['generate', '--model', dir, '--prompt', PROMPT, '--max-new-tokens', '16']);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.writes[0]).toBe(tok.decode(tok.encode(PROMPT)));
    expect(r.writes.join('')).toBe(tok.decode(tok.encode(PROMPT)) + tok.decode(want) + '\n');
    expect(r.writes.length).toBeGreaterThan(3); // written piece by piece, not at the end
    expect(r.out).toEqual([]);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(new RegExp(`^${want.length} tokens in \\d+\\.\\d\\d s: \\d+\\.\\d tokens/s \\(cpu\\)$`));
  });

  it('--prefill-chunk N: the same continuation with the prompt fed in chunks; a bad N is a usage error', async () => {
    const r = await run(['generate', '--model', dir, '--prompt', PROMPT, '--max-new-tokens', '16', '--prefill-chunk', '3']);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.writes.join('')).toBe(tok.decode(tok.encode(PROMPT)) + tok.decode(want) + '\n');
    const bad = await run(['generate', '--model', dir, '--prompt', PROMPT, '--prefill-chunk', '0']);
    expect(bad.code).not.toBe(0);
    expect(bad.err.join('\n')).toMatch(/--prefill-chunk must be a positive integer, got '0'/);
  });

  it('--json: one event per token, then the summary', async () => {
    const r = await run(['generate', '--model', dir, '--prompt', PROMPT, '--max-new-tokens', '16', '--json']);
    expect(r.code).toBe(0);
    expect(r.writes).toEqual([]);
    const events = r.out.map((l) => JSON.parse(l) as Record<string, unknown>);
    const tokens = events.filter((e) => e.event === 'token');
    const rest = events.filter((e) => e.event === 'text').map((e) => e.text);
    const done = events[events.length - 1];
    expect(events.map((e) => e.event)).toEqual([...want.map(() => 'token'), ...rest.map(() => 'text'), 'done']);
    expect(tokens.map((e) => e.id)).toEqual(want);
    expect(tokens.map((e) => e.step)).toEqual(want.map((_, i) => i));
    expect([...tokens.map((e) => e.text), ...rest].join('')).toBe(tok.decode(want));
    const prompt = tok.encode(PROMPT);
    expect(done).toMatchObject({ event: 'done', ids: [...prompt, ...want], promptLength: prompt.length, text: tok.decode([...prompt, ...want]), newTokens: want.length });
    expect(done.tokensPerSecond).toBeGreaterThan(0);
    expect(done.seconds).toBeGreaterThan(0);
  });

  it('IncrementalDecoder: a character split over tokens comes out whole, bytes that never complete one after 3 tokens', () => {
    const d = new IncrementalDecoder(tok);
    const [a, b] = tok.encode('ñ', { addSpecialTokens: false }); // two bytes, two tokens of the byte-level vocabulary
    expect(d.push(tok.encode('x', { addSpecialTokens: false })[0])).toBe('x');
    expect(d.push(a)).toBe('');
    expect(d.push(b)).toBe('ñ');
    expect(d.push(2)).toBe(''); // <|im_end|>: special, dropped
    const lone = tok.encode('é', { addSpecialTokens: false })[1]; // a continuation byte: never valid alone
    expect([d.push(lone), d.push(lone), d.push(lone)]).toEqual(['', '', '']);
    expect(d.push(lone)).toBe('\uFFFD'.repeat(4));
    expect(d.push(a)).toBe('');
    expect(d.flush()).toBe('\uFFFD');
    expect(d.text).toBe('xñ' + '\uFFFD'.repeat(5));
  });
});
