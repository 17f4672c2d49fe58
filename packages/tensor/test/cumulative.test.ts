// Cumsum and Cumprod on every backend under test against a float64 scan written here, on every axis,
// exclusive and reverse, with the scanned axis's length changing from call to call at one rank:
// on webgpu, tfjs-backend-webgpu's own reverse scan reused the shader of the first length it saw
// (src/backends/webgpu/cumulative.ts), which these cases catch. Also the Cumsum gradient (a reverse
// scan of dy) at two axis lengths in a row, the path by which the matmul SSD form's dt gradient was
// wrong on webgpu.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, takeWebgpuErrors, tf } from '../src/index.js';
import { backendsUnderTest, expectCloseAsync, randomTensor } from '../src/testing/index.js';

type Op = 'cumsum' | 'cumprod';

/** The scan of `x` (row-major, `shape`) along `axis` in float64, as tfjs defines it. */
function scan(op: Op, x: ArrayLike<number>, shape: number[], axis: number, exclusive: boolean, reverse: boolean): Float64Array {
  const len = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = x.length / (len * inner);
  const out = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = op === 'cumsum' ? 0 : 1;
      for (let k = 0; k < len; k++) {
        const j = reverse ? len - 1 - k : k;
        const at = (o * len + j) * inner + i;
        if (!exclusive) acc = op === 'cumsum' ? acc + x[at] : acc * x[at];
        out[at] = acc;
        if (exclusive) acc = op === 'cumsum' ? acc + x[at] : acc * x[at];
      }
    }
  }
  return out;
}

// Shapes of rank 2 and 4 whose axes take lengths 1 to 17 in turn (odd and power-of-two lengths:
// the scan takes ceil(log2(length)) passes); each shape is scanned on each of its axes.
const SHAPES = [
  [3, 5],
  [8, 1],
  [2, 17],
  [2, 3, 4, 5],
  [7, 2, 6, 1],
  [1, 9, 2, 3],
];

describe.each(backendsUnderTest())('Cumsum and Cumprod on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  afterEach(async () => {
    expect(await takeWebgpuErrors()).toEqual([]);
  });

  it.each(['cumsum', 'cumprod'] as const)('%s matches a float64 scan on every axis, exclusive and reverse, the length changing between calls', async (op) => {
    let seed = 1;
    for (const shape of SHAPES) {
      for (let axis = 0; axis < shape.length; axis++) {
        for (const exclusive of [false, true]) {
          for (const reverse of [false, true]) {
            // products of up to 17 factors in [0.7, 1.3] stay within ~[0.002, 90]
            const x = op === 'cumsum' ? randomTensor(shape, seed++) : randomTensor(shape, seed++, { distribution: 'uniform', min: 0.7, max: 1.3 });
            const got = (op === 'cumsum' ? tf.cumsum : tf.cumprod)(x, axis, exclusive, reverse);
            const want = scan(op, await x.data(), shape, axis, exclusive, reverse);
            // float32 scans of ≤ 17 terms (|x| ≲ 4 or factors ≈ 1): each of ≤ 5 passes rounds once,
            // ≲ 1e-6 relative; a wrong scan (a term missing or counted twice) is off by O(|x|) ≳ 1e-2.
            await expectCloseAsync(got, want, { rtol: 2e-5, atol: 2e-5, name: `${op} [${shape}] axis ${axis} exclusive ${exclusive} reverse ${reverse}` });
            tf.dispose([x, got]);
          }
        }
      }
    }
  });

  it('the Cumsum gradient (a reverse scan of dy) is right at two axis lengths in a row', async () => {
    for (const [shape, axis] of [
      [[3, 4, 5], 2],
      [[3, 4, 7], 2],
      [[6, 4, 2], 0],
      [[3, 9, 2], 1],
    ] as const) {
      for (const exclusive of [false, true]) {
        const x = randomTensor([...shape], 40 + axis);
        const dy = randomTensor([...shape], 50 + axis);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.cumsum(t, axis, exclusive), dy)))(x);
        // dx[i] = Σ_{j ≥ i} dy[j] (j > i when exclusive): the reverse scan of dy
        const want = scan('cumsum', await dy.data(), [...shape], axis, exclusive, true);
        // float32 sums of ≤ 9 terms of |dy| ≲ 4 (as above)
        await expectCloseAsync(g, want, { rtol: 2e-5, atol: 2e-5, name: `d cumsum [${shape}] axis ${axis} exclusive ${exclusive}` });
        tf.dispose([x, dy, g]);
      }
    }
  });
});
