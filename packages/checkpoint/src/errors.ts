/**
 * The errors @falcon/checkpoint throws: {@link SafetensorsError} for anything wrong with a
 * safetensors file or its index (it names the file, the tensor and the problem), {@link ConfigError}
 * for a `config.json` that does not parse or validate (it lists every problem), and
 * {@link CheckpointMismatchError} for a checkpoint whose tensors do not match its config.
 */

/** One difference between a checkpoint and its config. */
export interface CheckpointMismatch {
  /** `missing`: the config needs it and the checkpoint lacks it; `unexpected`: the reverse; `shape`: both have it, shapes differ. */
  kind: 'missing' | 'unexpected' | 'shape';
  /** Tensor name. */
  name: string;
  /** Shape the config implies (missing, shape). */
  expected?: readonly number[];
  /** Shape in the checkpoint (unexpected, shape). */
  actual?: readonly number[];
  /** A sentence saying what is wrong and why, e.g. `missing tensor 'model.layers.0.mamba.norm.weight' [64] (mamba_rms_norm is true)`. */
  message: string;
}

/** Where a {@link SafetensorsError} happened: the file (or buffer name) and the tensor, when known. */
export interface SafetensorsErrorLocation {
  /** Path of the file (or the name given to an in-memory buffer, or the index file). */
  file?: string;
  /** Name of the tensor concerned. */
  tensor?: string;
}

/**
 * A safetensors file, buffer or index that is malformed, truncated or does not hold what was asked,
 * or a write that failed. The message reads `safetensors <file>, tensor '<name>': <problem>`;
 * the parts are also fields.
 */
export class SafetensorsError extends Error {
  /** Path of the file (or buffer name) concerned, if known. */
  readonly file: string | undefined;
  /** Name of the tensor concerned, if the problem is about one tensor. */
  readonly tensor: string | undefined;
  /** The problem alone, without the file and tensor. */
  readonly problem: string;

  /**
   * @param problem - what is wrong, e.g. `data_offsets [0, 12] overlap tensor 'b'`
   * @param where - the file and tensor concerned
   * @param options - `cause`: the underlying error (an fs error, a JSON syntax error)
   */
  constructor(problem: string, where: SafetensorsErrorLocation = {}, options?: { cause?: unknown }) {
    const parts = [`safetensors ${where.file !== undefined ? `'${where.file}'` : '(unnamed buffer)'}`];
    if (where.tensor !== undefined) parts.push(`tensor '${where.tensor}'`);
    super(`${parts.join(', ')}: ${problem}`, options);
    this.name = 'SafetensorsError';
    this.file = where.file;
    this.tensor = where.tensor;
    this.problem = problem;
  }
}

/** A Hugging Face `config.json` that is not valid JSON, has an unknown `model_type`, or fails validation. */
export class ConfigError extends Error {
  /** Every problem found, one line each, e.g. `num_attention_heads (6) is not a multiple of num_key_value_heads (4)`. */
  readonly problems: readonly string[];
  /** Where the config came from (a path), if known. */
  readonly source: string | undefined;

  /**
   * @param problems - every problem found (at least one)
   * @param source - where the config came from, for the message
   */
  constructor(problems: readonly string[], source?: string, options?: { cause?: unknown }) {
    const where = source !== undefined ? `config '${source}'` : 'config';
    const msg =
      problems.length === 1 ? `${where}: ${problems[0]}` : `${where}: ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
    super(msg, options);
    this.name = 'ConfigError';
    this.problems = problems;
    this.source = source;
  }
}

/** A checkpoint whose tensor names or shapes do not match what its config implies; lists every mismatch. */
export class CheckpointMismatchError extends Error {
  /** Every mismatch found (missing tensors, unexpected tensors, wrong shapes). */
  readonly mismatches: readonly CheckpointMismatch[];

  /**
   * @param mismatches - every mismatch found (at least one)
   * @param what - what was checked, e.g. `falcon_h1 checkpoint '/models/x'`
   */
  constructor(mismatches: readonly CheckpointMismatch[], what = 'checkpoint') {
    const shown = mismatches.slice(0, 50).map((m) => `  - ${m.message}`);
    if (mismatches.length > 50) shown.push(`  - ... and ${mismatches.length - 50} more`);
    super(`${what} does not match its config: ${mismatches.length} mismatch${mismatches.length === 1 ? '' : 'es'}:\n${shown.join('\n')}`);
    this.name = 'CheckpointMismatchError';
    this.mismatches = mismatches;
  }
}
