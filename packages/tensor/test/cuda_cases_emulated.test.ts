// This package's CUDA op cases (test/cuda/cases.ts) on the cuda backend over the emulated addon
// (host memory, the arithmetic of csrc/*.cu written in TypeScript), against the cpu backend: the
// op kernels' TypeScript side (the named native calls, their parameters, the outputs they
// allocate) runs here; the device runner runs the same cases on the real addon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends, initBackend, tf } from '../src/index.js';
import { compareBackends, registerEmulatedCudaBackend } from '../src/testing/index.js';
import { cudaCases } from './cuda/cases.js';

const status = (await availableBackends()).find((s) => s.name === 'cuda')!;

describe.skipIf(status.available)('CUDA op cases on the emulated cuda addon', () => {
  let previous: string;
  beforeAll(async () => {
    await initBackend('cpu');
    previous = tf.getBackend();
    registerEmulatedCudaBackend('f32');
    await tf.setBackend('cuda');
    await tf.setBackend(previous);
  });
  afterAll(async () => {
    await tf.setBackend(previous);
    tf.removeBackend('cuda');
  });
  for (const c of cudaCases) {
    it(c.name, async () => {
      const r = await compareBackends(c, 'cpu', 'cuda');
      expect(r.error).toBeUndefined();
      expect(r.ok, JSON.stringify(r)).toBe(true);
    });
  }
});
