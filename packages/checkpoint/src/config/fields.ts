/**
 * Type checks for config fields: each checker returns undefined when a value is acceptable or the
 * expectation it fails ("a positive integer"), and `readFields` applies a table of checkers and
 * defaults to a parsed JSON object, collecting every problem instead of stopping at the first.
 */

/** A field check: undefined if `v` is acceptable, else what was expected (e.g. `"a positive integer"`). @internal */
export type Check = (v: unknown) => string | undefined;

/** An integer ≥ `min` (default 0). @internal */
export const int =
  (min = 0): Check =>
  (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? undefined : min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`;

/** A finite number, optionally > 0 or ≥ 0. @internal */
export const num =
  (range: 'any' | 'positive' | 'non-negative' = 'any'): Check =>
  (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return range === 'any' ? 'a finite number' : `a ${range} number`;
    if (range === 'positive' && !(v > 0)) return 'a positive number';
    if (range === 'non-negative' && !(v >= 0)) return 'a non-negative number';
    return undefined;
  };

/** A boolean. @internal */
export const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false');

/** A string. @internal */
export const str: Check = (v) => (typeof v === 'string' ? undefined : 'a string');

/** null or what `c` accepts. @internal */
export const nullable =
  (c: Check): Check =>
  (v) => {
    if (v === null) return undefined;
    const e = c(v);
    return e === undefined ? undefined : `${e} or null`;
  };

/** An array of `n` finite numbers (any length when `n` is undefined). @internal */
export const numbers =
  (n?: number): Check =>
  (v) =>
    Array.isArray(v) && (n === undefined || v.length === n) && v.every((x) => typeof x === 'number' && Number.isFinite(x))
      ? undefined
      : n === undefined
        ? 'an array of finite numbers'
        : `an array of ${n} finite numbers`;

/** An array of strings. @internal */
export const strings: Check = (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? undefined : 'an array of strings');

/** An integer token id, a list of them, or null (`eos_token_id`). @internal */
export const tokenIds: Check = (v) =>
  v === null || (typeof v === 'number' && Number.isSafeInteger(v)) || (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isSafeInteger(x)))
    ? undefined
    : 'an integer, a list of integers, or null';

/** A description of a JSON value for error messages. @internal */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Read the fields of a table from a JSON object: absent (or, where `nullDefault` lists it, null)
 * fields get their default; present ones are checked. Problems are appended to `problems`. @internal
 * @param json - the parsed config object
 * @param table - field name → [check, default] (default `undefined` means the field is required)
 * @param problems - collects `field: expected X, got Y` lines
 */
export function readFields<T extends Record<string, unknown>>(
  json: Readonly<Record<string, unknown>>,
  table: { [K in keyof T]: readonly [Check, T[K] | undefined] },
  problems: string[],
): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(table)) {
    const [check, def] = table[key as keyof T];
    const present = Object.prototype.hasOwnProperty.call(json, key);
    if (!present) {
      if (def === undefined) problems.push(`${key}: required field is missing`);
      out[key] = def;
      continue;
    }
    const v = json[key];
    const e = check(v);
    if (e !== undefined) problems.push(`${key}: expected ${e}, got ${show(v)}`);
    out[key] = v;
  }
  return out as T;
}
