/**
 * Checking a checkpoint's tensor names and shapes against its config: every missing tensor, every
 * tensor the config does not explain, every wrong shape, each with a sentence that says why
 * (e.g. which flag makes a bias exist). The hybrid model's `fromPretrained` runs this before loading.
 */
import type { HFConfig } from '../config/parse.js';
import { CheckpointMismatchError } from '../errors.js';
import { candidateTensors } from './expected.js';
import type { CheckpointMismatch } from './expected.js';

/** Anything that can list its tensors' shapes: the readers `SafetensorsReader`, `CheckpointReader`, `SafetensorsBuffer`. */
export interface HasTensorShapes {
  /** Every tensor's shape by name. */
  shapes(): ReadonlyMap<string, readonly number[]>;
}

/** Tensor shapes by name: a Map, a plain object, or a reader ({@link HasTensorShapes}). */
export type TensorShapes = ReadonlyMap<string, readonly number[]> | Readonly<Record<string, readonly number[]>> | HasTensorShapes;

/** Options of {@link checkCheckpoint} and {@link validateCheckpoint}. */
export interface CheckCheckpointOptions {
  /**
   * Tensors not to report as unexpected: true for all, or a predicate on the name. Always ignored:
   * `*.rotary_emb.inv_freq` (old Llama checkpoints store it; transformers ignores it) and, with tied
   * embeddings, an `lm_head.weight` of the right shape.
   */
  ignoreUnexpected?: boolean | ((name: string) => boolean);
  /** Report only these names as missing when absent (e.g. one pipeline stage's layers); default all. */
  only?: (name: string) => boolean;
}

/** Options of {@link validateCheckpoint}. */
export interface ValidateCheckpointOptions extends CheckCheckpointOptions {
  /** What is checked, for the error message (e.g. `checkpoint '/models/x'`); default `<model_type> checkpoint`. */
  what?: string;
}

function shapesOf(t: TensorShapes): ReadonlyMap<string, readonly number[]> {
  if (t instanceof Map) return t;
  if (typeof (t as Partial<HasTensorShapes>).shapes === 'function') return (t as HasTensorShapes).shapes();
  return new Map(Object.entries(t as Record<string, readonly number[]>));
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Every difference between a checkpoint's tensors and what its config implies (spec §1 and §8).
 * @param config - a parsed Falcon-H1 or Llama config
 * @param tensors - the checkpoint's tensor shapes by name (or a reader)
 * @returns the mismatches, empty when the checkpoint fits; missing first, then shapes, then unexpected
 */
export function checkCheckpoint(config: HFConfig, tensors: TensorShapes, options: CheckCheckpointOptions = {}): CheckpointMismatch[] {
  const actual = shapesOf(tensors);
  const candidates = new Map(candidateTensors(config).map((t) => [t.name, t]));
  const { ignoreUnexpected = false, only } = options;
  const missing: CheckpointMismatch[] = [];
  const shapes: CheckpointMismatch[] = [];
  const unexpected: CheckpointMismatch[] = [];
  for (const t of candidates.values()) {
    if (!t.present || (only && !only(t.name))) continue;
    const a = actual.get(t.name);
    if (a === undefined) {
      missing.push({ kind: 'missing', name: t.name, expected: t.shape, message: `missing tensor '${t.name}' ${fmt(t.shape)}${t.why ? ` (${t.why})` : ''}` });
    } else if (!same(a, t.shape)) {
      shapes.push({ kind: 'shape', name: t.name, expected: t.shape, actual: a, message: `tensor '${t.name}' has shape ${fmt(a)}, expected ${fmt(t.shape)} = ${t.formula}` });
    }
  }
  const layers = config.num_hidden_layers;
  for (const [name, shape] of actual) {
    const t = candidates.get(name);
    if (t?.present) continue;
    if (ignoreUnexpected === true || (typeof ignoreUnexpected === 'function' && ignoreUnexpected(name))) continue;
    if (/\.rotary_emb\.inv_freq$/.test(name)) continue;
    if (t && name === 'lm_head.weight' && same(shape, t.shape)) continue;
    let why: string;
    const layer = /^model\.layers\.(\d+)\./.exec(name);
    if (t) why = `present, but ${t.why}`;
    else if (layer && Number(layer[1]) >= layers) why = `layer ${layer[1]}, but num_hidden_layers is ${layers}`;
    else why = `not a parameter of a ${config.model_type} model`;
    unexpected.push({ kind: 'unexpected', name, actual: shape, message: `unexpected tensor '${name}' ${fmt(shape)} (${why})` });
  }
  return [...missing, ...shapes, ...unexpected];
}

/**
 * Throw unless a checkpoint's tensors match its config exactly (names and shapes).
 * @param config - a parsed Falcon-H1 or Llama config
 * @param tensors - the checkpoint's tensor shapes by name (or a reader)
 * @throws CheckpointMismatchError listing every mismatch
 */
export function validateCheckpoint(config: HFConfig, tensors: TensorShapes, options: ValidateCheckpointOptions = {}): void {
  const mismatches = checkCheckpoint(config, tensors, options);
  if (mismatches.length > 0) throw new CheckpointMismatchError(mismatches, options.what ?? `${config.model_type} checkpoint`);
}
