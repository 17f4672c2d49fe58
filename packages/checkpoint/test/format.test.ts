// The bytes on disk: u64 little-endian header length, compact JSON with __metadata__ first, padded
// with spaces to a multiple of 8, tensors contiguous and aligned; a transformers-written file
// re-written by us is byte-identical.
import { constants } from 'node:buffer';
import { closeSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeHeader, loadSafetensors, openSafetensors, parseSafetensors, serializeSafetensors, writeSafetensors } from '../src/index.js';
import { fixture, listDir, tempDir } from './fixtures.js';

describe('file layout', () => {
  it('matches a hand-made byte layout', async () => {
    const path = join(tempDir(), 'x.safetensors');
    await writeSafetensors(
      path,
      { b: { dtype: 'U8', shape: [3], data: new Uint8Array([7, 8, 9]) }, a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } },
      { metadata: { format: 'pt' }, fsync: false },
    );
    const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}';
    const n = Math.ceil(json.length / 8) * 8;
    const expected = Buffer.alloc(8 + n + 11);
    expected.writeBigUInt64LE(BigInt(n), 0);
    expected.write(json.padEnd(n, ' '), 8, 'utf8');
    Buffer.from(new Float32Array([1, 2]).buffer).copy(expected, 8 + n);
    Buffer.from([7, 8, 9]).copy(expected, 8 + n + 8);
    expect(readFileSync(path)).toEqual(expected);
    expect(n % 8).toBe(0);
  });

  it('orders tensors by element size then name, so each is aligned; the header is padded to 8', () => {
    const h = encodeHeader([
      { name: 'z', dtype: 'U8', shape: [3] },
      { name: 'y', dtype: 'F64', shape: [1] },
    ]);
    expect(h.bytes.byteLength % 8).toBe(0);
    expect(h.dataByteLength).toBe(11);
    expect(new TextDecoder().decode(h.bytes.subarray(8)).endsWith(' ')).toBe(true);
  });

  it('re-writes the transformers fixture byte for byte', async () => {
    const src = fixture('falcon-h1-tiny', 'model.safetensors');
    const r = await openSafetensors(src);
    const tensors = await r.readTensors();
    const out = join(tempDir(), 'model.safetensors');
    await writeSafetensors(out, tensors, { metadata: { ...r.metadata }, fsync: false });
    await r.close();
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    // and the in-memory encoder gives the same bytes
    const mem = await serializeSafetensors(tensors, { metadata: { format: 'pt' } });
    expect(Buffer.from(mem).equals(readFileSync(src))).toBe(true);
    for (const t of tensors.values()) t.dispose();
  });

  it('parses an in-memory file and reads views, typed arrays, tensors and row ranges', async () => {
    const bytes = readFileSync(fixture('falcon-h1-tiny', 'model.safetensors'));
    const buf = parseSafetensors(new Uint8Array(bytes), { name: 'model.safetensors' });
    expect(buf.names).toHaveLength(37);
    expect(buf.shapes().get('model.layers.0.mamba.in_proj.weight')).toEqual([168, 64]);
    const full = buf.readTypedArray('lm_head.weight') as Float32Array;
    const rows = buf.readTensor('lm_head.weight', { rows: [10, 13] });
    expect(rows.shape).toEqual([3, 64]);
    expect(Array.from(rows.dataSync())).toEqual(Array.from(full.subarray(640, 832)));
    const fromFile = await loadSafetensors(fixture('falcon-h1-tiny', 'model.safetensors'), ['lm_head.weight']);
    expect(Array.from(fromFile.get('lm_head.weight')!.dataSync())).toEqual(Array.from(full));
    // reads through the file reader give the same row range
    const r = await openSafetensors(fixture('falcon-h1-tiny', 'model.safetensors'));
    expect(Array.from((await r.readTensor('lm_head.weight', { rows: [10, 13] })).dataSync())).toEqual(Array.from(rows.dataSync()));
    await expect(r.readRaw('lm_head.weight', { rows: [5, 200] })).rejects.toThrow(/rows \[5, 200\) are not a range inside dim 0 of shape \[128, 64\]/);
    const some = await r.readTensors(['model.final_layernorm.weight', 'lm_head.weight', 'model.layers.0.mamba.D'], { concurrency: 3 });
    expect([...some.keys()]).toEqual(['model.final_layernorm.weight', 'lm_head.weight', 'model.layers.0.mamba.D']);
    expect(Array.from(some.get('lm_head.weight')!.dataSync())).toEqual(Array.from(full));
    await expect(r.readRaw('nope')).rejects.toThrow(/tensor 'nope': no tensor of this name/);
    await r.close();
    await expect(r.readRaw('lm_head.weight')).rejects.toThrow(/the reader is closed/);
  });

  it('a 5 GiB tensor (a sparse file) is refused whole with a hint, and read by rows past 4 GiB', async () => {
    const path = join(tempDir(), 'huge.safetensors');
    const rows = 5 * 2 ** 20;
    const header = encodeHeader([{ name: 'huge', dtype: 'U8', shape: [rows, 1024] }]);
    writeFileSync(path, header.bytes);
    truncateSync(path, header.bytes.byteLength + rows * 1024);
    const fd = openSync(path, 'r+');
    writeSync(fd, new Uint8Array([1, 2, 3]), 0, 3, header.bytes.byteLength + (rows - 1) * 1024 + 5);
    closeSync(fd);
    const r = await openSafetensors(path);
    // Node 20 caps one buffer at 4 GiB (later versions allow more; then the whole read is not tried here)
    if (constants.MAX_LENGTH < rows * 1024) await expect(r.readRaw('huge')).rejects.toThrow(/tensor 'huge': 5368709120 bytes do not fit in one buffer here .* read the tensor in parts with \{ rows/);
    const tail = await r.readRaw('huge', { rows: [rows - 1, rows] });
    expect(tail.shape).toEqual([1, 1024]);
    expect(Array.from(tail.data.subarray(4, 9))).toEqual([0, 1, 2, 3, 0]);
    await r.close();
  });

  it('an ArrayBuffer works as well as a Uint8Array', async () => {
    const mem = await serializeSafetensors({ x: { dtype: 'I16', shape: [2], data: new Int16Array([-3, 4]) } });
    const ab = new ArrayBuffer(mem.byteLength);
    new Uint8Array(ab).set(mem);
    expect(Array.from(parseSafetensors(ab).readTensor('x').dataSync())).toEqual([-3, 4]);
    expect(listDir(tempDir())).toEqual([]);
  });
});
