// Where the Generate tab's checkpoint comes from: a folder picked on disk (<input type=file
// webkitdirectory>) or a URL base (the bundled public/model by default). Either gives config.json,
// model.safetensors and, when present, tokenizer.json (+ tokenizer_config.json); without a
// tokenizer.json the page uses byte tokens (the presets' vocabulary of 259).
import { ByteTokenizer, HFTokenizer } from '@falcon/hybrid';
import type { Tokenizer } from '@falcon/hybrid';
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import { loadModel } from './generation.js';
import type { LoadedModel } from './session.js';

/** The files of a checkpoint, read into memory. */
export interface CheckpointFiles {
  /** Where they came from, for the page. */
  label: string;
  /** config.json */
  config: string;
  /** model.safetensors */
  weights: Uint8Array;
  /** tokenizer.json, if the checkpoint has one. */
  tokenizer?: string;
  /** tokenizer_config.json, if the checkpoint has one. */
  tokenizerConfig?: string;
}

/**
 * Read a checkpoint from the files of a folder the user picked.
 * @throws naming the missing file
 */
export async function fromFolder(files: ArrayLike<File>): Promise<CheckpointFiles> {
  const byName = new Map(Array.from(files, (f) => [f.name, f]));
  const need = (name: string) => {
    const f = byName.get(name);
    if (!f) throw new Error(`the folder has no ${name}${name === 'model.safetensors' && byName.has('model.safetensors.index.json') ? ' (sharded checkpoints are not read in the page)' : ''}`);
    return f;
  };
  const [config, weights] = [need('config.json'), need('model.safetensors')];
  const folder = (config.webkitRelativePath || config.name).split('/')[0];
  return {
    label: `${folder}/ (from disk)`,
    config: await config.text(),
    weights: new Uint8Array(await weights.arrayBuffer()),
    tokenizer: await byName.get('tokenizer.json')?.text(),
    tokenizerConfig: await byName.get('tokenizer_config.json')?.text(),
  };
}

/**
 * Fetch a checkpoint from a URL base (`<base>/config.json`, …).
 * @throws naming the URL that failed
 */
export async function fromUrl(base: string): Promise<CheckpointFiles> {
  const root = base.endsWith('/') ? base : `${base}/`;
  const get = async (name: string, optional = false): Promise<Response | undefined> => {
    const url = new URL(name, new URL(root, location.href)).href;
    const r = await fetch(url).catch((e: Error) => {
      throw new Error(`cannot fetch ${url}: ${e.message}`);
    });
    if (r.ok) return r;
    if (optional && r.status === 404) return undefined;
    throw new Error(`cannot fetch ${url}: HTTP ${r.status}`);
  };
  const [config, weights, tokenizer, tokenizerConfig] = await Promise.all([get('config.json'), get('model.safetensors'), get('tokenizer.json', true), get('tokenizer_config.json', true)]);
  return {
    label: root,
    config: await config!.text(),
    weights: new Uint8Array(await weights!.arrayBuffer()),
    tokenizer: await tokenizer?.text(),
    tokenizerConfig: await tokenizerConfig?.text(),
  };
}

/** The checkpoint's tokenizer: its tokenizer.json, else byte tokens (which need a vocab_size of 259). */
function tokenizerOf(f: CheckpointFiles, vocabSize: number): Tokenizer {
  if (f.tokenizer !== undefined) {
    const json = JSON.parse(f.tokenizer) as ConstructorParameters<typeof HFTokenizer>[1];
    const config = f.tokenizerConfig ? (JSON.parse(f.tokenizerConfig) as Record<string, unknown>) : {};
    return new HFTokenizer(new HfTokenizerImpl(json as Record<string, unknown>, config), json, config);
  }
  const byte = new ByteTokenizer();
  if (vocabSize !== byte.vocabSize) throw new Error(`${f.label} has no tokenizer.json and its vocab_size (${vocabSize}) is not the byte tokenizer's (${byte.vocabSize})`);
  return byte;
}

/**
 * Build the model and tokenizer of a checkpoint on the active backend.
 * @throws when the config, the weights or the tokenizer do not fit
 */
export async function loadCheckpoint(f: CheckpointFiles): Promise<LoadedModel> {
  const model = await loadModel(f.config, f.weights);
  try {
    return { model, tokenizer: tokenizerOf(f, model.config.base.vocab_size), label: f.label };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
