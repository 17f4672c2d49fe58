/**
 * A strict second look at a safetensors header's JSON text, for what `JSON.parse` lets through but
 * the reference Rust implementation (serde_json into typed fields) refuses: a key twice in one
 * object (JSON.parse keeps the last silently) and a number written with a fraction or exponent
 * (`99456.0`, `1e3`) where the format has only integers (shape dims and data_offsets; the
 * header holds no other numbers). No Node APIs.
 */

const NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;

/** A problem the scan found, with the top-level key (the tensor) it is under, if any. */
export interface StrictJsonProblem {
  /** What is wrong, e.g. `duplicate key "dtype"`. */
  message: string;
  /** The top-level key (a tensor name or `__metadata__`) it was found under or that is repeated; undefined for a number outside any entry. */
  tensor: string | undefined;
}

/**
 * Scan JSON text that `JSON.parse` has already accepted, and return the first duplicate key or
 * non-integer number.
 * @param text - the header JSON
 * @returns the problem, or undefined when the text is strict
 */
export function findStrictJsonProblem(text: string): StrictJsonProblem | undefined {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const stack: (Set<string> | null)[] = [];
  let topKey: string | undefined;
  let expectKey = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) return { message: `duplicate key ${JSON.stringify(key)}`, tensor: stack.length === 1 ? key : topKey };
        top.add(key);
        if (stack.length === 1) topKey = key;
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectKey = stack[stack.length - 1] instanceof Set;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text)!;
      if (m[1] !== undefined || m[2] !== undefined) return { message: `${m[0]} is not an integer (shape and data_offsets are integers)`, tensor: stack.length > 1 ? topKey : undefined };
      i += m[0].length;
      continue;
    }
    i++;
  }
  return undefined;
}
