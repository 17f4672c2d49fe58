// A tiny random instruct model on disk for the generate/chat CLI tests: config.json and
// model.safetensors (random weights), a byte-level BPE tokenizer.json over all 256 bytes with
// ChatML's special tokens, and a tokenizer_config.json with a ChatML chat template in the style
// Falcon-H1 instruct models ship (system turn, <|im_start|>role … <|im_end|>, generation prompt).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FalconH1ForCausalLM, hybridConfig } from '../src/index.js';

/** The special tokens, by id. */
export const SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

/** GPT-2's byte-level alphabet: the character each byte is written as in a byte-level BPE vocabulary. */
function byteAlphabet(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
}

/** A ChatML template as instruct models write it (with an unknown role refused). */
export const CHATML =
  "{{ bos_token }}{%- if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}" +
  "{%- for message in messages %}{%- if message['role'] not in ['system', 'user', 'assistant'] %}{{ raise_exception('unknown role ' + message['role']) }}{%- endif %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}";

/**
 * Write the model directory.
 * @param options - `template: false` leaves the chat template out
 * @returns the directory
 */
export async function writeChatModel(options: { template?: boolean; seed?: number } = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'falcon-chat-'));
  const vocab: Record<string, number> = {};
  SPECIALS.forEach((t, i) => (vocab[t] = i));
  byteAlphabet().forEach((c) => (vocab[c] = Object.keys(vocab).length));
  const tokenizer = {
    version: '1.0',
    added_tokens: SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: [] },
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  const tokConfig: Record<string, unknown> = { bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>' };
  if (options.template ?? true) tokConfig.chat_template = CHATML;
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokConfig));
  const config = hybridConfig({
    model_type: 'falcon_h1', vocab_size: Object.keys(vocab).length, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, mamba_d_ssm: 16, mamba_n_heads: 2, mamba_d_head: 8,
    mamba_d_state: 4, mamba_chunk_size: 8, tie_word_embeddings: true, max_position_embeddings: 256, eos_token_id: 2, pad_token_id: 0,
  });
  const model = new FalconH1ForCausalLM(config, options.seed ?? 11);
  await model.savePretrained(dir);
  model.dispose();
  return dir;
}
