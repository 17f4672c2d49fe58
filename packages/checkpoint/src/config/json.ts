/**
 * JSON of Hugging Face configs with non-finite floats. Python writes them as bare `Infinity` /
 * `NaN` tokens, transformers 5 as `{"__float__": "Infinity"}` (e.g. `time_step_limit`); both are
 * read back as numbers, and written in the transformers 5 form.
 */
import { ConfigError } from '../errors.js';

function replaceBareNonFinite(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const m = /^(-Infinity|Infinity|NaN)/.exec(text.slice(i, i + 9));
    if (m) {
      out += `{"__float__":"${m[1]}"}`;
      i += m[1].length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/**
 * Decode transformers 5's `{"__float__": "Infinity"}` (also `-Infinity`, `NaN`) to numbers, anywhere
 * in an already JSON-decoded value, so a config read with plain `JSON.parse` parses like its text.
 * @param x - a JSON-decoded value
 * @returns the same value with every `{"__float__": ...}` object replaced by its number (a copy)
 */
export function decodeFloats(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(decodeFloats);
  if (typeof x === 'object' && x !== null) {
    const o = x as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '__float__' && typeof o.__float__ === 'string') {
      const v = Number(o.__float__);
      if (o.__float__ === 'NaN' || !Number.isNaN(v)) return v;
    }
    return Object.fromEntries(keys.map((k) => [k, decodeFloats(o[k])]));
  }
  return x;
}

/**
 * Parse config JSON, accepting bare `Infinity`/`-Infinity`/`NaN` and decoding `{"__float__": ...}`.
 * @param text - the file's contents
 * @param source - where it came from, for the error message
 * @throws ConfigError if it is not valid JSON
 */
export function parseConfigJson(text: string, source?: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    try {
      parsed = JSON.parse(replaceBareNonFinite(text));
    } catch {
      throw new ConfigError([`not valid JSON (${(e as Error).message})`], source, { cause: e });
    }
  }
  return decodeFloats(parsed);
}

/** A string as Python's json.dumps writes it (non-ASCII as lowercase `\\uXXXX`). */
function asciiJson(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A finite number as Python's `repr(float)` writes it: shortest digits, `1e-05`, `100000000000.0`, `1e+16`. */
export function pythonFloat(v: number): string {
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  const [mant, expStr] = Math.abs(v).toExponential().split('e');
  const e = Number(expStr);
  const digits = mant.replace('.', '');
  if (e >= -4 && e < 16) {
    if (e >= 0) return `${sign}${digits.slice(0, e + 1).padEnd(e + 1, '0')}.${digits.slice(e + 1) || '0'}`;
    return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/**
 * Config JSON text as transformers writes it (`json.dumps(d, indent=2, sort_keys=True) + "\n"`):
 * keys sorted, 2-space indent, non-ASCII escaped, floats in Python's repr (`1e-05`), non-finite floats
 * as `{"__float__": "Infinity"}`, and integral values of float-typed fields with `.0`
 * (transformers' strict config classes reject `0` where a float is declared). Undefined values are
 * left out.
 * @param value - a JSON-like value
 * @param isFloat - whether the value at a key path (e.g. `["mlp_multipliers", "0"]`) is a float field
 */
export function stringifyConfig(value: unknown, isFloat: (path: readonly string[]) => boolean): string {
  const write = (v: unknown, path: string[], indent: string): string => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return write({ __float__: String(v) }, path, indent);
      return Number.isInteger(v) && !isFloat(path) ? BigInt(v).toString() : pythonFloat(v);
    }
    if (typeof v === 'string') return asciiJson(v);
    if (typeof v === 'boolean') return String(v);
    if (v === null || typeof v !== 'object') return 'null';
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[\n${v.map((x, i) => inner + write(x, [...path, String(i)], inner)).join(',\n')}\n${indent}]`;
    }
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    if (keys.length === 0) return '{}';
    return `{\n${keys.map((k) => `${inner}${asciiJson(k)}: ${write(o[k], [...path, k], inner)}`).join(',\n')}\n${indent}}`;
  };
  return `${write(value, [], '')}\n`;
}
