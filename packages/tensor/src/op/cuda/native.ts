/**
 * The named native-call contract, TypeScript side: how a CUDA kernel's parameters are declared
 * once and cross to C++ by name.
 *
 * Each native function is declared by the object of its fields, in order, with their kinds:
 *
 * ```ts
 * const causalConv1d = nativeKernel({ x: 'ptr', weight: 'ptr', y: 'ptr', batch: 'i32', silu: 'bool' });
 * ```
 *
 * | kind | TypeScript value | C++ member | checked |
 * | --- | --- | --- | --- |
 * | `'ptr'` | device pointer (0: absent) | any `T*` | integer ≥ 0 |
 * | `'i32'` | number | `int` | integer in int32 range |
 * | `'i64'` | number | `int64_t` | safe integer |
 * | `'f32'` / `'f64'` | number | `float` / `double` | a number |
 * | `'bool'` | boolean | `bool` | a boolean |
 * | `'i64[]'` | number[] | `falcon::ext::IntList` | safe integers |
 * | `'f32[]'` | Float32Array or number[] | `falcon::ext::FloatList` | numbers |
 *
 * The C++ binding takes a struct with the same members listed by `FALCON_PARAMS(...)`
 * (`csrc/include/falcon/params.h`) and exports its signature; when the addon is loaded, the kit
 * compares every declaration with it field by field ({@link checkSignatures}), so a field that is
 * missing, extra, misnamed, reordered or of another kind on either side is an error at load time
 * (and at build time: `node tools/build-cuda.mjs --check` runs the same comparison). A call's
 * object is checked against the declaration by the TypeScript compiler (its type is
 * {@link NativeParams}) and again at run time by {@link packer}, which names the function and the
 * field of a missing, extra or mistyped value; the values then travel as one `Float64Array` in
 * declaration order (list fields: their length in the field's slot, their elements after the last
 * slot) and the C++ side unpacks it into the struct with the same checks ({@link unpacker} is their
 * TypeScript mirror). Reading the fields of a JavaScript object from C++ through Node-API would
 * cost ~60 ns per field on Node 20; packing costs a few ns per field (see docs/cuda.md).
 */

/** The kinds of a native function's fields (see the module comment for their C++ types). */
export type NativeKind = 'ptr' | 'i32' | 'i64' | 'f32' | 'f64' | 'bool' | 'i64[]' | 'f32[]';

/** A native function's fields, in order: name → kind. */
export type NativeFields = Readonly<Record<string, NativeKind>>;

/** The TypeScript value of a field of kind `K`. */
export type NativeValue<K extends NativeKind> = K extends 'bool' ? boolean : K extends 'i64[]' ? readonly number[] : K extends 'f32[]' ? Float32Array | readonly number[] : number;

/** The parameter object of a call: every declared field, nothing else. */
export type NativeParams<F extends NativeFields> = { [N in keyof F]: NativeValue<F[N]> };

/** What a native function returns: nothing (a kernel) or a number (a query, e.g. scratch floats). */
export type NativeReturn = 'void' | 'number';

/** A declared native function (see the module comment). */
export interface NativeFunction<F extends NativeFields = NativeFields, R extends NativeReturn = NativeReturn> {
  /** Its fields, in order. */
  readonly fields: F;
  /** Whether the binding takes the backend's stream before the parameters (the kernels of package addons). */
  readonly stream: boolean;
  /** What it returns. */
  readonly returns: R;
}

/** A set of declared native functions, by the name the addon exports them under. */
export type NativeDeclarations = Readonly<Record<string, NativeFunction>>;

/**
 * A kernel of a package addon: the kit passes the backend's stream, the binding queues work on it.
 * @param fields - the parameters, in the order of the C++ struct's `FALCON_PARAMS`
 */
export function nativeKernel<F extends NativeFields>(fields: F): NativeFunction<F, 'void'> {
  return { fields, stream: true, returns: 'void' };
}

/**
 * A host-side query returning a number (e.g. the floats of scratch a kernel needs); no stream.
 * @param fields - the parameters, in the order of the C++ struct's `FALCON_PARAMS`
 */
export function nativeQuery<F extends NativeFields>(fields: F): NativeFunction<F, 'number'> {
  return { fields, stream: false, returns: 'number' };
}

/**
 * A kernel of the tensor addon itself, which queues on its own stream (no stream argument).
 * @param fields - the parameters, in the order of the C++ struct's `FALCON_PARAMS`
 */
export function nativeCall<F extends NativeFields>(fields: F): NativeFunction<F, 'void'> {
  return { fields, stream: false, returns: 'void' };
}

const PTR = 0,
  I32 = 1,
  I64 = 2,
  FLOAT = 3,
  BOOL = 4,
  LIST_I64 = 5,
  LIST_F32 = 6;
const CODE: Record<NativeKind, number> = { ptr: PTR, i32: I32, i64: I64, f32: FLOAT, f64: FLOAT, bool: BOOL, 'i64[]': LIST_I64, 'f32[]': LIST_F32 };
const LIST: Record<NativeKind, boolean> = { ptr: false, i32: false, i64: false, f32: false, f64: false, bool: false, 'i64[]': true, 'f32[]': true };

/** Why `v` is not a value of kind `k` (undefined when it is). */
function badValue(k: NativeKind, v: unknown): string | undefined {
  switch (k) {
    case 'ptr':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? undefined : 'a device pointer (an integer ≥ 0)';
    case 'i32':
      return typeof v === 'number' && (v | 0) === v ? undefined : 'an int32';
    case 'i64':
      return typeof v === 'number' && Number.isSafeInteger(v) ? undefined : 'an integer';
    case 'f32':
    case 'f64':
      return typeof v === 'number' ? undefined : 'a number';
    case 'bool':
      return typeof v === 'boolean' ? undefined : 'a boolean';
    case 'i64[]':
      return Array.isArray(v) && v.every((e) => typeof e === 'number' && Number.isSafeInteger(e)) ? undefined : 'an array of integers';
    case 'f32[]':
      return v instanceof Float32Array || (Array.isArray(v) && v.every((e) => typeof e === 'number')) ? undefined : 'a Float32Array or an array of numbers';
  }
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (v instanceof Float32Array) return `Float32Array(${v.length})`;
  return String(v);
}

/** The full diagnosis of a call object that failed the fast check: every missing, extra and mistyped field. */
function diagnose(label: string, fields: NativeFields, params: unknown): Error {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return new Error(`${label}: expects an object of named parameters, got ${show(params)}`);
  const p = params as Record<string, unknown>;
  const problems: string[] = [];
  const missing = Object.keys(fields).filter((n) => !(n in p) || p[n] === undefined);
  const extra = Object.keys(p).filter((n) => !Object.prototype.hasOwnProperty.call(fields, n));
  if (missing.length) problems.push(`missing field${missing.length > 1 ? 's' : ''} ${missing.map((n) => `'${n}'`).join(', ')}`);
  if (extra.length) problems.push(`unknown field${extra.length > 1 ? 's' : ''} ${extra.map((n) => `'${n}'`).join(', ')}`);
  for (const [n, k] of Object.entries(fields)) {
    if (missing.includes(n)) continue;
    const why = badValue(k, p[n]);
    if (why) problems.push(`field '${n}' must be ${why} (got ${show(p[n])})`);
  }
  return new Error(`${label}: ${problems.join('; ') || 'malformed parameters'}`);
}

/**
 * The per-call validator and packer of a declared function: checks the object has exactly the
 * declared fields, each of its kind, and returns the `Float64Array` the C++ side unpacks. The arrays
 * are reused from call to call (one per total length; the binding reads them before it returns).
 * @param label - names the function in errors, e.g. `'@falcon/mamba2 causalConv1d'`
 * @param fn - the declaration
 * @returns `(params) => Float64Array`; throws an Error naming every missing, extra or mistyped field
 */
export function packer<F extends NativeFields>(label: string, fn: NativeFunction<F>): (params: NativeParams<F>) => Float64Array {
  const names = Object.keys(fn.fields);
  const codes = names.map((n) => CODE[fn.fields[n]]);
  const n = names.length;
  const hasLists = codes.some((c) => c >= LIST_I64);
  const fixed: Float64Array | undefined = hasLists ? undefined : new Float64Array(n);
  const byLength: Float64Array[] = []; // calls with lists: one reused array per total length
  const fail = (params: unknown): never => {
    throw diagnose(label, fn.fields, params);
  };
  return (params) => {
    const p = params as Record<string, unknown>;
    let count = 0;
    // Counts the keys (inherited enumerable keys would count as extra too).
    for (const _ in p) count++;
    if (count !== n) fail(params);
    let buf: Float64Array;
    if (fixed !== undefined) buf = fixed;
    else {
      let total = n;
      for (let i = 0; i < n; i++) {
        if (codes[i] < LIST_I64) continue;
        const v = p[names[i]] as ArrayLike<number> | undefined;
        if (v === null || typeof v !== 'object') fail(params);
        total += v!.length;
      }
      buf = byLength[total] ??= new Float64Array(total);
    }
    let tail = n;
    for (let i = 0; i < n; i++) {
      const v = p[names[i]];
      switch (codes[i]) {
        case PTR:
          if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(params);
          buf[i] = v as number;
          break;
        case I32:
          if (typeof v !== 'number' || (v | 0) !== v) fail(params);
          buf[i] = v as number;
          break;
        case I64:
          if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(params);
          buf[i] = v as number;
          break;
        case FLOAT:
          if (typeof v !== 'number') fail(params);
          buf[i] = v as number;
          break;
        case BOOL:
          if (typeof v !== 'boolean') fail(params);
          buf[i] = v ? 1 : 0;
          break;
        default: {
          const list = v as ArrayLike<number>;
          const ints = codes[i] === LIST_I64;
          if (!(Array.isArray(list) || (!ints && list instanceof Float32Array))) fail(params);
          buf[i] = list.length;
          for (let j = 0; j < list.length; j++) {
            const e = list[j];
            if (typeof e !== 'number' || (ints && !Number.isSafeInteger(e))) fail(params);
            buf[tail + j] = e;
          }
          tail += list.length;
        }
      }
    }
    return buf;
  };
}

/**
 * The TypeScript mirror of the C++ side's `falcon::ext::unpack`: the parameter object of a packed
 * call, with the same checks (the array's length, integers in range, 0/1 flags). The host-memory
 * emulation of the tensor addon reads its calls through it.
 * @param label - names the function in errors
 * @param fn - the declaration
 * @returns `(packed) => params`; throws an Error naming the field of a value that does not fit
 */
export function unpacker<F extends NativeFields>(label: string, fn: NativeFunction<F>): (packed: unknown) => NativeParams<F> {
  const names = Object.keys(fn.fields);
  const kinds = names.map((n) => fn.fields[n]);
  return (packed) => {
    if (!(packed instanceof Float64Array)) throw new Error(`${label}: expects its parameters packed into a Float64Array by the @falcon/tensor CUDA kit (call it through the package's declaration, not directly)`);
    if (packed.length < names.length) throw new Error(`${label}: the packed call has ${packed.length} values, the declaration ${names.length} fields`);
    const out: Record<string, unknown> = {};
    let tail = names.length;
    const bad = (name: string, what: string, v: number) => new Error(`${label}: field '${name}' must be ${what} (got ${v})`);
    names.forEach((name, i) => {
      const k = kinds[i];
      const v = packed[i];
      if (LIST[k]) {
        if (!Number.isSafeInteger(v) || v < 0 || tail + v > packed.length) throw bad(name, 'a list length within the packed call', v);
        const list = Array.from(packed.subarray(tail, tail + v));
        if (k === 'i64[]') list.forEach((e, j) => { if (!Number.isSafeInteger(e)) throw bad(`${name}[${j}]`, 'an integer', e); });
        out[name] = k === 'f32[]' ? Float32Array.from(list) : list;
        tail += v;
      } else if (k === 'bool') {
        if (v !== 0 && v !== 1) throw bad(name, 'a flag (0 or 1)', v);
        out[name] = v === 1;
      } else if (k === 'ptr' || k === 'i32' || k === 'i64') {
        if (!Number.isSafeInteger(v) || (k === 'ptr' && v < 0) || (k === 'i32' && (v | 0) !== v)) throw bad(name, k === 'ptr' ? 'a device pointer (an integer ≥ 0)' : k === 'i32' ? 'an int32' : 'an integer', v);
        out[name] = v;
      } else out[name] = k === 'f32' ? Math.fround(v) : v;
    });
    if (tail !== packed.length) throw new Error(`${label}: the packed call has ${packed.length} values, its fields and lists ${tail}`);
    return out as NativeParams<F>;
  };
}
