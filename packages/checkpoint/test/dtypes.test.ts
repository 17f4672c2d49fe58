// Every dtype round-trips through a file bit for bit (raw access), converts to the right tfjs
// tensor (float32 / int32 / bool, with range errors), and tfjs tensors save as any target dtype.
import { join } from 'node:path';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, f32ToFp8, fp8ToF32, tf } from '@falcon/tensor';
import { randomTensor } from '@falcon/tensor/testing';
import { describe, expect, it } from 'vitest';
import { SAFETENSORS_DTYPES, SafetensorsError, dtypeByteSize, loadSafetensors, openSafetensors, writeSafetensors } from '../src/index.js';
import type { RawTensor, SafetensorsDtype, WriteEntry } from '../src/index.js';
import { tempDir } from './fixtures.js';
import { SAMPLES, all256, bytesOf } from './samples.js';

describe('raw round trip', () => {
  it('writes and reads every dtype bit for bit, with metadata, scalars and empty tensors', async () => {
    const path = join(tempDir(), 'all.safetensors');
    const metadata = { format: 'pt', note: 'ünïcode ✓', empty: '' };
    await writeSafetensors(
      path,
      { ...SAMPLES, scalar: { dtype: 'F32', shape: [], data: new Float32Array([2.5]) }, empty: { dtype: 'BF16', shape: [0, 3], data: new Uint16Array(0) } },
      { metadata, fsync: false },
    );
    const r = await openSafetensors(path);
    expect(r.metadata).toEqual(metadata);
    expect(r.names).toHaveLength(SAFETENSORS_DTYPES.length + 2);
    for (const [name, s] of Object.entries(SAMPLES)) {
      const raw = await r.readRaw(name);
      expect(raw.dtype, name).toBe(s.dtype);
      expect(raw.shape).toEqual(s.shape);
      expect(raw.data, name).toEqual(bytesOf(s.data));
      const typed = await r.readTypedArray(name);
      expect(typed.constructor).toBe(s.data.constructor);
      expect(bytesOf(typed)).toEqual(bytesOf(s.data));
      // every tensor is aligned to its element size within the file
      expect((r.header.dataStart + r.info(name).dataOffsets[0]) % dtypeByteSize(s.dtype), name).toBe(0);
    }
    expect((await r.readTensor('scalar')).shape).toEqual([]);
    expect((await r.readTensor('scalar')).dataSync()[0]).toBe(2.5);
    expect((await r.readTensor('empty')).shape).toEqual([0, 3]);
    await r.close();
  });
});

describe('reading as tfjs tensors', () => {
  const where = async (samples: Record<string, RawTensor>) => {
    const path = join(tempDir(), 'x.safetensors');
    await writeSafetensors(path, samples, { fsync: false });
    return path;
  };

  it('float dtypes become float32 with exact special values', async () => {
    const t = await loadSafetensors(await where({ F64: SAMPLES.F64, F32: SAMPLES.F32, F16: SAMPLES.F16, BF16: SAMPLES.BF16, F8_E4M3: SAMPLES.F8_E4M3, F8_E5M2: SAMPLES.F8_E5M2 }));
    for (const x of t.values()) expect(x.dtype).toBe('float32');
    expect(Array.from(t.get('F64')!.dataSync())).toEqual(Array.from(SAMPLES.F64.data as Float64Array, Math.fround));
    expect(Array.from(t.get('F32')!.dataSync())).toEqual(Array.from(SAMPLES.F32.data as Float32Array));
    expect(Object.is(t.get('F32')!.dataSync()[1], -0)).toBe(true);
    expect(Array.from(t.get('F16')!.dataSync())).toEqual(Array.from(f16ToF32(SAMPLES.F16.data as Uint16Array)));
    expect(Array.from(t.get('F16')!.dataSync().slice(5))).toEqual([Infinity, -Infinity, NaN]);
    expect(Array.from(t.get('BF16')!.dataSync())).toEqual(Array.from(bf16ToF32(SAMPLES.BF16.data as Uint16Array)));
    expect(t.get('BF16')!.shape).toEqual([2, 2, 2]);
    expect(Array.from(t.get('F8_E4M3')!.dataSync())).toEqual(Array.from(fp8ToF32(all256, 'F8_E4M3')));
    expect(t.get('F8_E4M3')!.dataSync()[0x7e]).toBe(448);
    expect(Array.from(t.get('F8_E5M2')!.dataSync())).toEqual(Array.from(fp8ToF32(all256, 'F8_E5M2')));
    tf.dispose([...t.values()]);
  });

  it('integer dtypes become int32, BOOL becomes bool', async () => {
    const path = await where({
      I32: SAMPLES.I32,
      I16: SAMPLES.I16,
      I8: SAMPLES.I8,
      U16: SAMPLES.U16,
      U8: SAMPLES.U8,
      BOOL: SAMPLES.BOOL,
      I64ok: { dtype: 'I64', shape: [3], data: new BigInt64Array([-(2n ** 31n), 2n ** 31n - 1n, 7n]) },
      U32ok: { dtype: 'U32', shape: [1], data: new Uint32Array([2 ** 31 - 1]) },
      U64ok: { dtype: 'U64', shape: [1], data: new BigUint64Array([123n]) },
    });
    const t = await loadSafetensors(path);
    for (const [n, x] of t) expect(x.dtype, n).toBe(n === 'BOOL' ? 'bool' : 'int32');
    expect(Array.from(t.get('I32')!.dataSync())).toEqual([-(2 ** 31), 2 ** 31 - 1, 0]);
    expect(Array.from(t.get('I16')!.dataSync())).toEqual([-32768, 32767, -1]);
    expect(Array.from(t.get('I8')!.dataSync())).toEqual([-128, 127, -1]);
    expect(Array.from(t.get('U16')!.dataSync())).toEqual([0, 65535]);
    expect(Array.from(t.get('U8')!.dataSync())).toEqual(Array.from(all256));
    expect(Array.from(t.get('BOOL')!.dataSync())).toEqual([0, 1, 1, 0, 1]);
    expect(Array.from(t.get('I64ok')!.dataSync())).toEqual([-(2 ** 31), 2 ** 31 - 1, 7]);
    expect(Array.from(t.get('U32ok')!.dataSync())).toEqual([2 ** 31 - 1]);
    expect(Array.from(t.get('U64ok')!.dataSync())).toEqual([123]);
    tf.dispose([...t.values()]);
  });

  it('I64, U64 and U32 values outside int32 are a clear error naming file, tensor and value', async () => {
    const path = await where({ big: SAMPLES.I64, ubig: SAMPLES.U32, u64: SAMPLES.U64 });
    const r = await openSafetensors(path);
    await expect(r.readTensor('big')).rejects.toThrow(SafetensorsError);
    await expect(r.readTensor('big')).rejects.toThrow(/tensor 'big'.*I64 value -9223372036854775808 at flat index 0 is outside the int32 range/);
    await expect(r.readTensor('ubig')).rejects.toThrow(/tensor 'ubig'.*U32 value 4294967295 at flat index 1/);
    await expect(r.readTensor('u64')).rejects.toThrow(/U64 value 18446744073709551615/);
    const e = (await r.readTensor('big').catch((x: unknown) => x)) as SafetensorsError;
    expect(e.file).toBe(path);
    expect(e.tensor).toBe('big');
    // readTensors disposes what it read when one tensor fails, and keeps the order asked for
    const before = tf.memory().numTensors;
    await expect(r.readTensors(['u64', 'big', 'ubig'], { concurrency: 2 })).rejects.toThrow(SafetensorsError);
    expect(tf.memory().numTensors).toBe(before);
    // raw access still works
    expect(Array.from((await r.readTypedArray('big')) as BigInt64Array)).toEqual([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n]);
    await r.close();
  });
});

describe('writing tfjs tensors as a target dtype', () => {
  it('stores float32 as BF16, F16, F8 and F64 with the helpers’ exact bits; the global dtype leaves int32 and bool alone', async () => {
    const v = Float32Array.from(randomTensor([3, 5], 7).dataSync());
    v[0] = NaN;
    v[1] = -Infinity;
    const w = tf.tensor(v, [3, 5]);
    const ids = tf.tensor([1, -2, 3], [3], 'int32');
    const mask = tf.tensor([1, 0], [2], 'bool');
    const path = join(tempDir(), 'cast.safetensors');
    await writeSafetensors(
      path,
      new Map<string, WriteEntry>([
        ['global', w],
        ['f16', { tensor: w, dtype: 'F16' }],
        ['e4m3', { tensor: w, dtype: 'F8_E4M3' }],
        ['e5m2', { tensor: w, dtype: 'F8_E5M2' }],
        ['f64', { tensor: w, dtype: 'F64' }],
        ['f32', { tensor: w, dtype: 'F32' }],
        ['ids', ids],
        ['ids64', { tensor: ids, dtype: 'I64' }],
        ['ids8', { tensor: ids, dtype: 'I8' }],
        ['mask', mask],
      ]),
      { dtype: 'BF16', fsync: false },
    );
    const r = await openSafetensors(path);
    expect(r.info('global').dtype).toBe('BF16');
    expect(await r.readTypedArray('global')).toEqual(f32ToBf16(v));
    expect(await r.readTypedArray('f16')).toEqual(f32ToF16(v));
    expect(await r.readTypedArray('e4m3')).toEqual(f32ToFp8(v, 'F8_E4M3'));
    expect(await r.readTypedArray('e5m2')).toEqual(f32ToFp8(v, 'F8_E5M2'));
    expect(await r.readTypedArray('f64')).toEqual(Float64Array.from(v));
    expect(await r.readTypedArray('f32')).toEqual(v);
    expect(r.info('ids').dtype).toBe('I32');
    expect(await r.readTypedArray('ids64')).toEqual(new BigInt64Array([1n, -2n, 3n]));
    expect(await r.readTypedArray('ids8')).toEqual(new Int8Array([1, -2, 3]));
    expect(r.info('mask').dtype).toBe('BOOL');
    const back = await r.readTensor('global');
    expect(Array.from(back.dataSync())).toEqual(Array.from(bf16ToF32(f32ToBf16(v))));
    expect((await r.readTensor('mask')).dtype).toBe('bool');
    await r.close();
    tf.dispose([w, ids, mask, back]);
  });

  it('refuses conversions that lose meaning, naming the tensor', async () => {
    const dir = tempDir();
    const f = tf.tensor([1.5], [1]);
    const big = tf.tensor([300], [1], 'int32');
    await expect(writeSafetensors(join(dir, 'a.safetensors'), { f: { tensor: f, dtype: 'I32' } })).rejects.toThrow(/tensor 'f': cannot save a float32 tensor as I32/);
    await expect(writeSafetensors(join(dir, 'b.safetensors'), { big: { tensor: big, dtype: 'U8' } })).rejects.toThrow(/tensor 'big': value 300 at flat index 0 does not fit in U8/);
    await expect(writeSafetensors(join(dir, 'c.safetensors'), { x: { tensor: f, dtype: 'F7' as SafetensorsDtype } })).rejects.toThrow(/unknown dtype "F7"/);
    tf.dispose([f, big]);
  });
});
