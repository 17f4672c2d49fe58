// opCheck: every message names the op and the argument and says what was expected and what was given.
import { describe, expect, it } from 'vitest';
import { OpArgumentError, opCheck, tf } from '../src/index.js';

/** The error a thunk throws (fails the test if it throws nothing). */
function thrown(f: () => unknown): OpArgumentError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OpArgumentError);
    return e as OpArgumentError;
  }
  throw new Error('expected a throw');
}

describe('opCheck tensors', () => {
  const c = opCheck('someOp');
  const x = tf.zeros([2, 5, 3]);

  it('accepts a matching tensor and returns its shape', () => {
    expect(c.arg('x').tensor(x, { dims: ['batch', 'seqlen', 'dim'], shape: [2, undefined, 3] })).toEqual([2, 5, 3]);
    expect(c.arg('x').tensor(x, { dims: ['...', 'dim'], shape: [3] })).toEqual([2, 5, 3]);
    expect(c.arg('i').tensor(tf.zeros([4], 'int32'), { dims: ['n'], dtype: ['float32', 'int32'] })).toEqual([4]);
  });

  it('names the op, the argument, the dims and the wrong size', () => {
    const e = thrown(() => c.arg('weight').tensor(tf.zeros([4, 4]), { dims: ['dim', 'dconv'], shape: [3] }));
    expect(e.message).toBe("someOp: argument 'weight' must have shape [dim, dconv] = [3, ?], got [4, 4] (dim is 4, expected 3)");
    expect(e.op).toBe('someOp');
    expect(e.arg).toBe('weight');
    expect(thrown(() => c.arg('x').tensor(x, { dims: ['...', 'features'], shape: [7] })).message).toBe(
      "someOp: argument 'x' must have shape [..., features] = [..., 7], got [2, 5, 3] (features is 3, expected 7)",
    );
  });

  it('checks the rank, with and without leading dims', () => {
    expect(thrown(() => c.arg('x').tensor(tf.zeros([2, 5]), { dims: ['batch', 'seqlen', 'dim'] })).message).toBe(
      "someOp: argument 'x' must have rank 3 [batch, seqlen, dim], got shape [2, 5]",
    );
    expect(thrown(() => c.arg('x').tensor(tf.scalar(1), { dims: ['...', 'features'] })).message).toBe("someOp: argument 'x' must have rank ≥ 1 [..., features], got a scalar");
    expect(thrown(() => c.arg('x').tensor(tf.zeros([3]), { dims: ['...', 'rows', 'cols'] })).message).toBe(
      "someOp: argument 'x' must have rank ≥ 2 [..., rows, cols], got shape [3]",
    );
  });

  it('checks the dtype, emptiness and presence', () => {
    expect(thrown(() => c.arg('x').tensor(tf.zeros([2], 'int32'), { dims: ['n'] })).message).toBe("someOp: argument 'x' must be float32, got int32");
    expect(thrown(() => c.arg('m').tensor(tf.zeros([2], 'complex64'), { dims: ['n'], dtype: ['float32', 'int32', 'bool'] })).message).toBe(
      "someOp: argument 'm' must be float32 or int32 or bool, got complex64",
    );
    expect(thrown(() => c.arg('x').tensor(tf.zeros([2, 0]), { dims: ['a', 'b'], nonEmpty: true })).message).toBe("someOp: argument 'x' must not be empty, got shape [2, 0]");
    expect(c.arg('x').tensor(tf.zeros([2, 0]), { dims: ['a', 'b'] })).toEqual([2, 0]);
    expect(c.arg('bias').tensor(undefined, { dims: ['dim'], optional: true })).toEqual([]);
    expect(thrown(() => c.arg('bias').tensor(undefined, { dims: ['dim'] })).message).toBe("someOp: argument 'bias' is missing (expected a tensor [dim])");
    expect(thrown(() => c.arg('x').tensor([1, 2] as never, { dims: ['n'] })).message).toBe("someOp: argument 'x' must be a tensor [n], got an array of length 2");
  });

  it('words names and shapes in the package style', () => {
    const bare = opCheck('flashAttention', { bare: ['argument', 'attribute', 'option'], shapeSeparator: ',' });
    expect(thrown(() => bare.arg('q').tensor(tf.zeros([2, 5, 8]), { dims: ['batch', 'seqlen', 'nHeads', 'headDim'] })).message).toBe(
      'flashAttention: q must have rank 4 [batch, seqlen, nHeads, headDim], got shape [2,5,8]',
    );
    expect(bare.shape([2, 3])).toBe('[2,3]');
    expect(thrown(() => bare.arg('k').tensor(tf.zeros([2, 4]), { dims: ['batch', 'seqlenK'], shape: [2, 5] })).message).toBe(
      'flashAttention: k must have shape [batch, seqlenK] = [2,5], got [2,4] (seqlenK is 4, expected 5)',
    );
    const mixed = opCheck('m', { bare: ['attribute'] });
    expect(mixed.label('argument', 'x')).toBe("argument 'x'");
    expect(mixed.label('attribute', 'chunkSize')).toBe('chunkSize');
    expect(mixed.label('option', 'dtype')).toBe("option 'dtype'");
  });
});

describe('opCheck values', () => {
  const c = opCheck('op');

  it('integers', () => {
    expect(c.attr('n').positiveInt(3)).toBe(3);
    for (const v of [0, 2.5, NaN, '3', undefined]) expect(() => c.attr('n').positiveInt(v)).toThrow(`op: attribute 'n' must be a positive integer, got ${typeof v === 'string' ? `'${v}'` : v}`);
    expect(c.attr('w').int(-1, { min: -1 })).toBe(-1);
    expect(thrown(() => c.attr('w').int(2.5, { min: -1 })).message).toBe("op: attribute 'w' must be an integer ≥ -1, got 2.5");
    expect(thrown(() => c.arg('k').int(70000, { min: 1, max: 65536 })).message).toBe("op: argument 'k' must be an integer in [1, 65536], got 70000");
    expect(thrown(() => c.arg('k').int(9, { max: 8 })).message).toBe("op: argument 'k' must be an integer ≤ 8, got 9");
    expect(thrown(() => c.arg('k').int(Infinity)).message).toBe("op: argument 'k' must be an integer, got Infinity");
  });

  it('numbers', () => {
    expect(c.attr('eps').number(0, { min: 0 })).toBe(0);
    expect(c.attr('eps').number(Infinity, { min: 0 })).toBe(Infinity);
    expect(thrown(() => c.attr('eps').number(-1, { min: 0 })).message).toBe("op: attribute 'eps' must be a non-negative number, got -1");
    expect(thrown(() => c.attr('eps').number(NaN, { min: 0 })).message).toBe("op: attribute 'eps' must be a non-negative number, got NaN");
    expect(thrown(() => c.arg('s').number(Infinity, { above: 0, finite: true })).message).toBe("op: argument 's' must be a positive finite number, got Infinity");
    expect(thrown(() => c.arg('s').number(0, { above: 0, finite: true })).message).toBe("op: argument 's' must be a positive finite number, got 0");
    expect(thrown(() => c.attr('theta').number(0.5, { above: 1, finite: true })).message).toBe("op: attribute 'theta' must be a finite number > 1, got 0.5");
    expect(thrown(() => c.attr('scale').number(NaN, { finite: true })).message).toBe("op: attribute 'scale' must be a finite number, got NaN");
    expect(thrown(() => c.attr('p').number(1.5, { min: 0, max: 1 })).message).toBe("op: attribute 'p' must be a number ≥ 0 and ≤ 1, got 1.5");
    expect(thrown(() => c.attr('p').number(1, { above: 0, below: 1 })).message).toBe("op: attribute 'p' must be a number > 0 and < 1, got 1");
    expect(thrown(() => c.attr('p').number('1')).message).toBe("op: attribute 'p' must be a number, got '1'");
  });

  it('booleans, enumerations, relations', () => {
    expect(c.attr('causal').boolean(true)).toBe(true);
    expect(thrown(() => c.attr('causal').boolean(1)).message).toBe("op: attribute 'causal' must be a boolean, got 1");
    expect(c.option('scaleFormat').oneOf('offline', ['bitlinear', 'offline'] as const)).toBe('offline');
    expect(thrown(() => c.option('scaleFormat').oneOf('online', ['bitlinear', 'offline'])).message).toBe("op: option 'scaleFormat' must be 'bitlinear' or 'offline', got 'online'");
    expect(thrown(() => c.option('n').oneOf(3, [1, 2, 4])).message).toBe("op: option 'n' must be 1, 2 or 4, got 3");
    expect(() => c.require(true, 'never')).not.toThrow();
    expect(thrown(() => c.require(4 % 3 === 0, 'nheads (4) must be divisible by ngroups (3)')).message).toBe('op: nheads (4) must be divisible by ngroups (3)');
    let built = 0;
    c.require(true, () => `${++built}`);
    expect(built).toBe(0); // a lazy message is only built on failure
    expect(thrown(() => c.fail('the cache is empty')).arg).toBeUndefined();
  });
});
