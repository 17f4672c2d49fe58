/**
 * Argument checks shared by the ops of this package: every op validates ranks, dimensions and
 * dtypes before any kernel runs, and the messages name the op, the argument and the problem.
 */
import type { Tensor } from '@falcon/tensor';

/** Throw an error whose message starts with the op's name. @internal */
export function fail(op: string, message: string): never {
  throw new Error(`${op}: ${message}`);
}

/**
 * Check one tensor argument: its dtype, its rank (one spec name per dimension) and each dimension
 * whose expected size is given.
 * @param names - spec names of the dimensions, e.g. `['batch', 'seqlen', 'nheads', 'headdim']`
 * @param expected - expected sizes (undefined: any size)
 * @internal
 */
export function checkArg(
  op: string,
  arg: string,
  t: Tensor,
  names: readonly string[],
  expected: readonly (number | undefined)[] = [],
  dtype: 'float32' | 'int32' = 'float32',
): void {
  if (t.dtype !== dtype) fail(op, `argument '${arg}' must be ${dtype}, got ${t.dtype}`);
  const want = `[${names.join(', ')}]`;
  if (t.rank !== names.length) fail(op, `argument '${arg}' must have rank ${names.length} ${want}, got shape [${t.shape.join(', ')}]`);
  for (let i = 0; i < names.length; i++) {
    const e = expected[i];
    if (e !== undefined && t.shape[i] !== e) {
      fail(op, `argument '${arg}' must have shape ${want} = [${names.map((_, j) => expected[j] ?? '?').join(', ')}], got [${t.shape.join(', ')}] (${names[i]} is ${t.shape[i]}, expected ${e})`);
    }
  }
}

/** Check that a number attribute is a positive integer. @internal */
export function checkPositiveInt(op: string, name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(op, `${name} must be a positive integer, got ${String(v)}`);
}

/** Check a `[min, max]` time-step limit. @internal */
export function checkDtLimit(op: string, lo: number, hi: number): void {
  if (typeof lo !== 'number' || typeof hi !== 'number' || Number.isNaN(lo) || Number.isNaN(hi) || !(lo <= hi) || lo < 0) {
    fail(op, `dtLimit must be [min, max] with 0 <= min <= max, got [${lo}, ${hi}]`);
  }
}
