// A file written by the reference implementation (Python safetensors 0.8 via PyTorch, made by
// data/make_python_dtypes.py) reads bit for bit: every dtype, a scalar, an empty tensor, metadata.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openSafetensors } from '../src/index.js';
import { SAMPLES, bytesOf } from './samples.js';

const PYTHON_FILE = fileURLToPath(new URL('./data/python_dtypes.safetensors', import.meta.url));

describe('a file written by Python safetensors', () => {
  it('reads every dtype bit for bit', async () => {
    const r = await openSafetensors(PYTHON_FILE);
    expect(r.metadata).toEqual({ format: 'pt', writer: 'python safetensors' });
    expect(r.header.headerByteLength % 8).toBe(0);
    for (const [name, s] of Object.entries(SAMPLES)) {
      const raw = await r.readRaw(name);
      expect(raw.dtype, name).toBe(s.dtype);
      expect(raw.shape, name).toEqual(s.shape);
      expect(raw.data, name).toEqual(bytesOf(s.data));
    }
    expect(Array.from((await r.readTensor('scalar')).dataSync())).toEqual([2.5]);
    expect((await r.readTensor('empty')).shape).toEqual([0, 3]);
    expect(Array.from((await r.readTensor('BOOL')).dataSync())).toEqual([0, 1, 1, 0, 1]);
    await r.close();
  });
});
