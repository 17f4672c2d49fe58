// Malformed safetensors files: each is refused on open with a SafetensorsError that names the
// file, the tensor (when one is at fault) and the problem; the in-memory parser says the same.
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsError, openSafetensors, parseSafetensors, writeSafetensors } from '../src/index.js';
import { tempDir } from './fixtures.js';

/** A file of an 8-byte length (default: the header's), the header text, then `dataBytes` zero bytes. */
function craft(header: string | object | Uint8Array, dataBytes: number, length?: bigint): Uint8Array {
  const json = header instanceof Uint8Array ? Buffer.from(header) : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(8 + json.length + dataBytes);
  out.writeBigUInt64LE(length ?? BigInt(json.length), 0);
  json.copy(out, 8);
  return new Uint8Array(out);
}

interface Expect {
  tensor?: string;
  problem: RegExp;
}

async function expectRefused(bytes: Uint8Array, want: Expect): Promise<void> {
  const path = join(tempDir(), 'bad.safetensors');
  writeFileSync(path, bytes);
  const e = await openSafetensors(path).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(SafetensorsError);
  const err = e as SafetensorsError;
  expect(err.file).toBe(path);
  expect(err.tensor).toBe(want.tensor);
  expect(err.problem).toMatch(want.problem);
  expect(err.message).toContain(path);
  if (want.tensor) expect(err.message).toContain(`tensor '${want.tensor}'`);
  // the in-memory parser gives the same verdict
  expect(() => parseSafetensors(bytes, { name: 'mem.safetensors' })).toThrow(want.problem);
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

describe('corrupt files', () => {
  it('a file shorter than the 8-byte length', () => expectRefused(new Uint8Array([1, 2, 3]), { problem: /only 3 bytes long/ }));
  it('a header length past the end of the file', () => expectRefused(craft({ a: f32([1], 0, 4) }, 4, 5000n), { problem: /header length 5000 bytes runs past the end of the file/ }));
  it('an absurd header length', () => expectRefused(craft({}, 0, 2n ** 62n), { problem: /header length 4611686018427387904 bytes exceeds the 100000000-byte limit/ }));
  it('bad JSON', () => expectRefused(craft('{"a": {"dtype": "F32",', 0), { problem: /header is not valid JSON/ }));
  it('a header that is not an object', () => expectRefused(craft('[1, 2]', 0), { problem: /header is an array, expected a JSON object/ }));
  it('a header not starting with {', () => expectRefused(craft(' {}', 0), { problem: /must begin with '\{'/ }));
  it('invalid UTF-8', () => expectRefused(craft(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 0), { problem: /header is not valid UTF-8/ }));
  it('an entry that is not an object', () => expectRefused(craft({ w: 3 }, 0), { tensor: 'w', problem: /header entry is number 3/ }));
  it('an unknown dtype', () => expectRefused(craft({ w: { dtype: 'F7', shape: [1], data_offsets: [0, 1] } }, 1), { tensor: 'w', problem: /unknown dtype "F7"/ }));
  it('a negative dimension', () => expectRefused(craft({ w: f32([-1, 2], 0, 8) }, 8), { tensor: 'w', problem: /not a non-negative integer \(-1\)/ }));
  it('a non-integer dimension', () => expectRefused(craft({ w: f32([1.5], 0, 6) }, 6), { tensor: 'w', problem: /not a non-negative integer \(1\.5\)/ }));
  it('a shape that is not an array', () => expectRefused(craft({ w: { dtype: 'F32', shape: 4, data_offsets: [0, 16] } }, 16), { tensor: 'w', problem: /shape is number 4/ }));
  it('a size that does not match the shape', () => expectRefused(craft({ w: f32([3], 0, 8) }, 8), { tensor: 'w', problem: /span 8 bytes but shape \[3\] of F32 needs 12/ }));
  it('malformed data_offsets', () => expectRefused(craft({ w: { dtype: 'U8', shape: [1], data_offsets: [0, 1, 2] } }, 1), { tensor: 'w', problem: /data_offsets \[0,1,2\] must be two/ }));
  it('data_offsets that end before they begin', () => expectRefused(craft({ w: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, 4), { tensor: 'w', problem: /end before they begin/ }));
  it('overlapping tensors', () => expectRefused(craft({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12), { tensor: 'b', problem: /overlap tensor 'a' at \[0, 8\]/ }));
  it('a gap between tensors', () => expectRefused(craft({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, 12), { tensor: 'b', problem: /gap of 4 bytes after tensor 'a'/ }));
  it('a gap at the start', () => expectRefused(craft({ a: f32([1], 4, 8) }, 8), { tensor: 'a', problem: /gap of 4 bytes at the start/ }));
  it('offsets past the end of the data', () => expectRefused(craft({ a: f32([1], 0, 4), b: f32([4], 4, 20) }, 8), { tensor: 'b', problem: /run past the end of the data section \(8 bytes\)/ }));
  it('bytes after the last tensor', () => expectRefused(craft({ a: f32([1], 0, 4) }, 12), { problem: /8 unexplained bytes at the end/ }));
  it('a non-string metadata value', () => expectRefused(craft({ __metadata__: { step: 3 } }, 0), { problem: /__metadata__ value of "step" is number 3/ }));

  it('a truncated file names the tensor that is cut', async () => {
    const path = join(tempDir(), 'cut.safetensors');
    await writeSafetensors(path, { a: { dtype: 'F32', shape: [4], data: new Float32Array(4) }, b: { dtype: 'F32', shape: [4], data: new Float32Array(4) } }, { fsync: false });
    const size = readFileSync(path).length;
    truncateSync(path, size - 6);
    await expect(openSafetensors(path)).rejects.toThrow(/tensor 'b': data_offsets \[16, 32\] run past the end of the data section \(26 bytes\): the file is truncated/);
  });

  it('a file that does not exist', async () => {
    const path = join(tempDir(), 'nope.safetensors');
    await expect(openSafetensors(path)).rejects.toThrow(new RegExp(`safetensors '${path}': cannot open: ENOENT`));
  });
});
