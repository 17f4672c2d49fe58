/**
 * The one argument checker every op package uses: ranks, named dimensions, dtypes, optional
 * inputs, integers and finite numbers in ranges, enumerations. Every error is an
 * {@link OpArgumentError} whose message starts with the op's name, names the argument and says
 * what was expected and what was given, e.g.
 * `ssdChunkScan: argument 'C' must have shape [batch, seqlen, ngroups, dstate] = [2, 6, 2, 5], got [2, 6, 2, 4] (dstate is 4, expected 5)`.
 * Ops check everything with it before any kernel runs.
 *
 * ```ts
 * const c = opCheck('causalConv1d');
 * const [batch, seqlen, dim] = c.arg('x').tensor(x, { dims: ['batch', 'seqlen', 'dim'] });
 * c.arg('weight').tensor(weight, { dims: ['dim', 'dconv'], shape: [dim] });
 * c.arg('bias').tensor(bias, { dims: ['dim'], shape: [dim], optional: true });
 * c.attr('chunkSize').positiveInt(chunkSize);
 * c.require(nheads % ngroups === 0, `nheads (${nheads}) must be divisible by ngroups (${ngroups})`);
 * ```
 */
import type { DataType, Tensor } from '@tensorflow/tfjs-core';

/** What a checked name is: a tensor or value input, an op attribute, or an option of a call. */
export type ArgKind = 'argument' | 'attribute' | 'option';

/**
 * How a package words its messages (its existing tests pin some of them). By default a name is
 * written `argument 'x'` / `attribute 'x'` / `option 'x'` and a shape `[2, 3]`.
 */
export interface CheckStyle {
  /** Kinds whose names are written bare (`x` instead of `argument 'x'`). Default: none. */
  readonly bare?: readonly ArgKind[];
  /** Separator between the sizes of a printed shape. Default `', '`. */
  readonly shapeSeparator?: string;
}

/** The error every check throws: `op: <argument> <problem>`. */
export class OpArgumentError extends Error {
  /** The op (or method) that rejected its input, e.g. `ssdChunkScan`. */
  readonly op: string;
  /** The argument named in the message, when one is. */
  readonly arg: string | undefined;
  /**
   * @param op - the op's name, the message's prefix
   * @param message - the problem
   * @param arg - the argument's name, if the problem is about one
   */
  constructor(op: string, message: string, arg?: string) {
    super(`${op}: ${message}`);
    this.name = 'OpArgumentError';
    this.op = op;
    this.arg = arg;
  }
}

/**
 * What a tensor argument must look like.
 *
 * `dims` names every dimension (its length is the rank); a leading `'...'` allows any number of
 * leading dimensions (rank ≥ `dims.length - 1`), and then `shape` aligns with the trailing ones.
 */
export interface TensorSpec {
  /** Spec names of the dimensions, e.g. `['batch', 'seqlen', 'nheads', 'headdim']` or `['...', 'features']`. */
  readonly dims: readonly string[];
  /** Expected sizes, one per name of `dims` (excluding `'...'`); `undefined` (or missing): any size. */
  readonly shape?: readonly (number | undefined)[];
  /** Allowed dtypes. Default `'float32'`. */
  readonly dtype?: DataType | readonly DataType[];
  /** Reject tensors with a zero-sized dimension. Default false. */
  readonly nonEmpty?: boolean;
  /** `undefined`/`null` is allowed (an optional input); then nothing is checked. Default false. */
  readonly optional?: boolean;
}

/** Bounds of a number (all inclusive except `above`/`below`). */
export interface NumberBounds {
  /** value ≥ min */
  readonly min?: number;
  /** value ≤ max */
  readonly max?: number;
  /** value > above */
  readonly above?: number;
  /** value < below */
  readonly below?: number;
  /** reject ±Infinity (NaN is always rejected). Default false. */
  readonly finite?: boolean;
}

/** Bounds of an integer (inclusive). */
export interface IntBounds {
  /** value ≥ min */
  readonly min?: number;
  /** value ≤ max */
  readonly max?: number;
}

/** The checks of one named argument of one op; see {@link OpCheck.arg}. */
export class ArgCheck {
  /** @internal */
  constructor(
    private readonly check: OpCheck,
    /** The argument's name as the caller knows it. */
    readonly name: string,
    /** How the message writes the name, e.g. `argument 'x'`. */
    readonly label: string,
  ) {}

  /** Throw `op: <label> <problem>`. */
  fail(problem: string): never {
    throw new OpArgumentError(this.check.op, `${this.label} ${problem}`, this.name);
  }

  /**
   * Check a tensor: present (unless optional), rank, dtype, emptiness, then each expected size.
   * @returns a copy of its shape (`[]` for an absent optional input)
   */
  tensor(t: Tensor | undefined | null, spec: TensorSpec): number[] {
    if (t === undefined || t === null) {
      if (spec.optional) return [];
      this.fail(`is missing (expected a tensor ${bracket(spec.dims)})`);
    }
    if (!isTensor(t)) this.fail(`must be a tensor ${bracket(spec.dims)}, got ${describe(t)}`);
    const shape = [...t.shape]; // a copy: callers may keep and change it
    const variadic = spec.dims[0] === '...';
    const names = variadic ? spec.dims.slice(1) : spec.dims;
    const want = bracket(spec.dims);
    const got = t.rank === 0 ? 'a scalar' : `shape ${this.check.shape(shape)}`;
    if (variadic ? t.rank < names.length : t.rank !== names.length) {
      this.fail(`must have rank ${variadic ? '≥ ' : ''}${names.length} ${want}, got ${got}`);
    }
    const dtypes: readonly DataType[] = typeof spec.dtype === 'string' ? [spec.dtype] : (spec.dtype ?? ['float32']);
    if (!dtypes.includes(t.dtype)) this.fail(`must be ${dtypes.join(' or ')}, got ${t.dtype}`);
    if (spec.nonEmpty && shape.some((d) => d === 0)) this.fail(`must not be empty, got shape ${this.check.shape(shape)}`);
    const expected = spec.shape ?? [];
    const offset = shape.length - names.length;
    for (let i = 0; i < names.length; i++) {
      const e = expected[i];
      if (e !== undefined && shape[offset + i] !== e) {
        const sizes = names.map((_, j) => String(expected[j] ?? '?'));
        this.fail(
          `must have shape ${want} = ${this.check.shape(variadic ? ['...', ...sizes] : sizes)}, got ${this.check.shape(shape)} (${names[i]} is ${shape[offset + i]}, expected ${e})`,
        );
      }
    }
    return shape;
  }

  /** Check an integer with optional inclusive bounds: "must be an integer ≥ min", "… in [min, max]". */
  int(v: unknown, bounds: IntBounds = {}): number {
    const { min, max } = bounds;
    const ok = typeof v === 'number' && Number.isInteger(v) && (min === undefined || v >= min) && (max === undefined || v <= max);
    if (!ok) {
      const range = min !== undefined && max !== undefined ? ` in [${min}, ${max}]` : min !== undefined ? ` ≥ ${min}` : max !== undefined ? ` ≤ ${max}` : '';
      this.fail(`must be an integer${range}, got ${show(v)}`);
    }
    return v as number;
  }

  /** Check an integer ≥ 1: "must be a positive integer". */
  positiveInt(v: unknown): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) this.fail(`must be a positive integer, got ${show(v)}`);
    return v;
  }

  /**
   * Check a number (never NaN) within bounds: "must be a finite number > 1", "must be a
   * non-negative number", "must be a positive finite number".
   */
  number(v: unknown, bounds: NumberBounds = {}): number {
    const { min, max, above, below, finite = false } = bounds;
    const ok =
      typeof v === 'number' &&
      !Number.isNaN(v) &&
      (!finite || Number.isFinite(v)) &&
      (min === undefined || v >= min) &&
      (max === undefined || v <= max) &&
      (above === undefined || v > above) &&
      (below === undefined || v < below);
    if (!ok) this.fail(`must be ${numberPhrase(bounds)}, got ${show(v)}`);
    return v as number;
  }

  /** Check a boolean. */
  boolean(v: unknown): boolean {
    if (typeof v !== 'boolean') this.fail(`must be a boolean, got ${show(v)}`);
    return v;
  }

  /** Check that a value is one of `allowed`: "must be 'a', 'b' or 'c', got 'd'". */
  oneOf<T extends string | number | boolean>(v: unknown, allowed: readonly T[]): T {
    if (!allowed.includes(v as T)) this.fail(`must be ${orList(allowed.map(show))}, got ${show(v)}`);
    return v as T;
  }
}

/** The checks of one op: name an argument, then check it; see the module documentation. */
export class OpCheck {
  /**
   * @param op - the op's (or method's) name, the prefix of every message
   * @param style - the package's wording; see {@link CheckStyle}
   */
  constructor(
    readonly op: string,
    readonly style: CheckStyle = {},
  ) {}

  /** The checks of a (tensor or value) input. */
  arg(name: string): ArgCheck {
    return this.named('argument', name);
  }

  /** The checks of an op attribute. */
  attr(name: string): ArgCheck {
    return this.named('attribute', name);
  }

  /** The checks of an option of a call. */
  option(name: string): ArgCheck {
    return this.named('option', name);
  }

  /** How this op's messages write a name of the given kind, e.g. `argument 'x'` or `x`. */
  label(kind: ArgKind, name: string): string {
    return this.style.bare?.includes(kind) ? name : `${kind} '${name}'`;
  }

  /** A shape (or a list of sizes) as this op's messages print it, e.g. `[2, 3]`. */
  shape(shape: readonly (number | string)[]): string {
    return `[${shape.join(this.style.shapeSeparator ?? ', ')}]`;
  }

  /** Throw `op: message`. */
  fail(message: string): never {
    throw new OpArgumentError(this.op, message);
  }

  /** Throw `op: message` unless `condition` holds (for relations between arguments). */
  require(condition: boolean, message: string | (() => string)): void {
    if (!condition) this.fail(typeof message === 'string' ? message : message());
  }

  private named(kind: ArgKind, name: string): ArgCheck {
    return new ArgCheck(this, name, this.label(kind, name));
  }
}

/** The checker of one op (or method), worded by the package's `style`. */
export function opCheck(op: string, style?: CheckStyle): OpCheck {
  return new OpCheck(op, style);
}

function isTensor(t: unknown): t is Tensor {
  return typeof t === 'object' && t !== null && Array.isArray((t as Tensor).shape) && typeof (t as Tensor).dtype === 'string' && typeof (t as Tensor).rank === 'number';
}

function bracket(names: readonly (string | number)[]): string {
  return `[${names.join(', ')}]`;
}

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  return v === null ? 'null' : typeof v === 'object' ? `an object (${v.constructor?.name ?? 'Object'})` : `${typeof v} ${show(v)}`;
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? 'nothing') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function numberPhrase(b: NumberBounds): string {
  const finite = b.finite ? 'finite ' : '';
  const only = (k: keyof NumberBounds): boolean => (['min', 'max', 'above', 'below'] as const).every((key) => key === k || b[key] === undefined);
  if (b.above === 0 && only('above')) return `a positive ${finite}number`;
  if (b.min === 0 && only('min')) return `a non-negative ${finite}number`;
  const parts = [b.min !== undefined && `≥ ${b.min}`, b.above !== undefined && `> ${b.above}`, b.max !== undefined && `≤ ${b.max}`, b.below !== undefined && `< ${b.below}`].filter(Boolean);
  return `a ${finite}number${parts.length ? ` ${parts.join(' and ')}` : ''}`;
}
