// safetensors headers parsed as strictly as the reference Rust implementation (serde_json into
// typed fields): integers written as floats (`99456.0`, `1e3`) and keys given twice are refused,
// naming the file and the tensor, although JSON.parse alone accepts both.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsError, openSafetensors, parseSafetensors } from '../src/index.js';
import { tempDir } from './fixtures.js';

/** The 8-byte little-endian length, the header text exactly as given, then `dataBytes` zero bytes. */
function craft(header: string, dataBytes: number): Uint8Array {
  const json = Buffer.from(header, 'utf8');
  const out = Buffer.alloc(8 + json.length + dataBytes);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  return new Uint8Array(out);
}

async function refused(header: string, dataBytes: number, tensor: string | undefined, problem: RegExp): Promise<void> {
  expect(() => JSON.parse(header)).not.toThrow(); // JSON.parse alone lets it through
  const bytes = craft(header, dataBytes);
  const path = join(tempDir(), 'strict.safetensors');
  writeFileSync(path, bytes);
  const e = await openSafetensors(path).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e, header).toBeInstanceOf(SafetensorsError);
  const err = e as SafetensorsError;
  expect(err.file).toBe(path);
  expect(err.tensor, header).toBe(tensor);
  expect(err.problem, header).toMatch(problem);
  expect(() => parseSafetensors(bytes, { name: 'mem.safetensors' })).toThrow(problem);
}

describe('strict safetensors headers', () => {
  it('refuses integers written as floats', async () => {
    await refused('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}', 8, 'w', /header is not strict JSON: 8\.0 is not an integer \(shape and data_offsets are integers\)/);
    await refused('{"w":{"dtype":"U8","shape":[99456.0],"data_offsets":[0,99456]}}', 99456, 'w', /99456\.0 is not an integer/);
    await refused('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1e3],"data_offsets":[1,1001]}}', 1001, 'w', /1e3 is not an integer/);
    await refused('{"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2E0]}}', 2, 'w', /2E0 is not an integer/);
  });

  it('refuses a key given twice, at any level', async () => {
    await refused('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1, 'w', /header is not strict JSON: duplicate key "w"/);
    await refused('{"w":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4, 'w', /duplicate key "dtype"/);
    await refused('{"__metadata__":{"format":"pt","format":"np"},"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1, '__metadata__', /duplicate key "format"/);
    await refused('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\\u0077":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1, 'w', /duplicate key "w"/); // the same key escaped
  });

  it('accepts strict headers, with numbers, escapes and braces inside strings', async () => {
    const header = '{"__metadata__":{"note":"a \\"quoted\\" {1.5, 2e3} [x]","n":"3.0"},"a.b":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},"c":{"dtype":"U8","shape":[],"data_offsets":[8,9]}}  ';
    const st = parseSafetensors(craft(header, 9), { name: 'ok.safetensors' });
    expect(st.names.sort()).toEqual(['a.b', 'c']);
  });
});
