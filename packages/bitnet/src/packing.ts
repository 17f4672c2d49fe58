/**
 * 2-bit packing of ternary weights in exactly the layout of transformers'
 * `integrations.bitnet.pack_weights` / `unpack_weights`: a weight `[out, in]` with values
 * v ∈ {−1, 0, 1} is stored as codes v + 1 ∈ {0, 1, 2}, four per byte, along the output dimension:
 * with `rows = ceil(out / 4)` the packed bytes are `[rows, in]` and weight row r lives in byte row
 * `r mod rows` at bit offset `2·floor(r / rows)` (low bits first). Unused slots (when out is not a
 * multiple of 4) hold code 0, as transformers leaves them.
 *
 * Ops take the packed bytes as an int32 tensor of little-endian 32-bit words (`packedWeightTensor`),
 * so the GPU and CPU kernels read 2 bits per weight.
 */
import { opCheck, tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/** Ternary values per packed byte (2 bits each). */
export const VALUES_PER_BYTE = 4;

function checkDims(fn: string, outFeatures: number, inFeatures: number): void {
  const c = opCheck(fn);
  c.arg('outFeatures').positiveInt(outFeatures);
  c.arg('inFeatures').positiveInt(inFeatures);
}

/**
 * Rows of the packed weight: `ceil(outFeatures / 4)`.
 * @param outFeatures - output features of the layer (rows of the unpacked weight)
 */
export function packedRows(outFeatures: number): number {
  return Math.ceil(outFeatures / VALUES_PER_BYTE);
}

/**
 * Number of int32 words of a packed weight tensor: `ceil(packedRows(out) · in / 4)`.
 * @param outFeatures - rows of the unpacked weight @param inFeatures - columns of the weight
 */
export function packedWordCount(outFeatures: number, inFeatures: number): number {
  return Math.ceil((packedRows(outFeatures) * inFeatures) / 4);
}

/**
 * Pack a ternary weight `[outFeatures, inFeatures]` (row-major values in {−1, 0, 1}) into transformers'
 * 2-bit layout: bytes `[ceil(outFeatures/4), inFeatures]`, row-major.
 *
 * @param values - `outFeatures · inFeatures` ternary values, row-major (a plain array, any typed array)
 * @returns the packed bytes, byte-for-byte what `pack_weights` returns
 * @throws if the length is wrong or a value is not −1, 0 or 1 (naming its row and column)
 */
export function packTernary(values: ArrayLike<number>, outFeatures: number, inFeatures: number): Uint8Array {
  checkDims('packTernary', outFeatures, inFeatures);
  if (values.length !== outFeatures * inFeatures) {
    opCheck('packTernary').arg('values').fail(`has ${values.length} elements, expected outFeatures·inFeatures = ${outFeatures}·${inFeatures} = ${outFeatures * inFeatures}`);
  }
  const rows = packedRows(outFeatures);
  const out = new Uint8Array(rows * inFeatures);
  for (let r = 0; r < outFeatures; r++) {
    const dst = (r % rows) * inFeatures;
    const shift = 2 * Math.floor(r / rows);
    const src = r * inFeatures;
    for (let k = 0; k < inFeatures; k++) {
      const v = values[src + k];
      if (v !== -1 && v !== 0 && v !== 1) {
        opCheck('packTernary').arg('values').fail(`is not ternary: value ${v} at [${r}, ${k}] (only −1, 0 and 1 can be packed)`);
      }
      out[dst + k] |= (v + 1) << shift;
    }
  }
  return out;
}

/**
 * Unpack transformers' 2-bit layout back into ternary values `[outFeatures, inFeatures]`.
 *
 * @param packed - bytes `[ceil(outFeatures/4), inFeatures]`, row-major
 * @returns `outFeatures · inFeatures` values in {−1, 0, 1}, row-major
 * @throws if `packed` has the wrong length or holds code 3 (not a ternary value) in a used slot
 */
export function unpackTernary(packed: Uint8Array, outFeatures: number, inFeatures: number): Int8Array {
  checkDims('unpackTernary', outFeatures, inFeatures);
  const rows = packedRows(outFeatures);
  if (packed.length !== rows * inFeatures) {
    opCheck('unpackTernary').arg('packed').fail(`has ${packed.length} bytes, expected ceil(outFeatures/4)·inFeatures = ${rows}·${inFeatures} = ${rows * inFeatures}`);
  }
  const out = new Int8Array(outFeatures * inFeatures);
  for (let r = 0; r < outFeatures; r++) {
    const src = (r % rows) * inFeatures;
    const shift = 2 * Math.floor(r / rows);
    const dst = r * inFeatures;
    for (let k = 0; k < inFeatures; k++) {
      const code = (packed[src + k] >> shift) & 3;
      if (code === 3) opCheck('unpackTernary').arg('packed').fail(`holds code 3 (not a ternary value) for weight [${r}, ${k}] in byte [${r % rows}, ${k}]`);
      out[dst + k] = code - 1;
    }
  }
  return out;
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The packed bytes as little-endian 32-bit words (zero-padded to a multiple of 4 bytes), the form
 * the ternary matmul kernels read. Byte i of the packed weight is byte `i mod 4` of word `floor(i/4)`.
 * @param packed - bytes `[rows, in]` @returns `ceil(packed.length / 4)` words
 */
export function packedBytesToWords(packed: Uint8Array): Int32Array {
  if (!littleEndian) throw new Error('packedBytesToWords: this platform is big-endian; packed weights assume little-endian words');
  const words = new Int32Array(Math.ceil(packed.length / 4));
  new Uint8Array(words.buffer).set(packed);
  return words;
}

/**
 * Inverse of {@link packedBytesToWords}: the first `byteLength` bytes of the words.
 * @param words - little-endian words @param byteLength - `rows · in`
 */
export function packedWordsToBytes(words: Int32Array, byteLength: number): Uint8Array {
  if (byteLength > words.length * 4) opCheck('packedWordsToBytes').arg('byteLength').fail(`(${byteLength}) exceeds the ${words.length * 4} bytes of 'words'`);
  return new Uint8Array(words.buffer, words.byteOffset, byteLength).slice();
}

/**
 * An int32 tensor `[ceil(rows·in/4)]` holding the packed bytes as little-endian words: the
 * `packed` input of {@link ternaryMatmul}.
 * @param packed - bytes `[ceil(outFeatures/4), inFeatures]` as {@link packTernary} returns them
 */
export function packedWeightTensor(packed: Uint8Array): Tensor {
  const words = packedBytesToWords(packed);
  return tf.tensor1d(words, 'int32');
}
