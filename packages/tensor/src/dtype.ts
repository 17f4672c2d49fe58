/**
 * Conversions between float32 and the narrow float formats checkpoints use (bfloat16, float16,
 * float8 e4m3fn / e5m2), on typed arrays, with no backend needed. float32 → narrow rounds to nearest
 * even; NaN stays NaN, ±Inf stays ±Inf (or saturates for e4m3fn, which has no Inf), subnormals are exact.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bfloat16 bits of each float32 (round to nearest even). @param x - float32 values @returns the bf16 bit patterns */
export function f32ToBf16(x: Float32Array | ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    f32[0] = x[i];
    const b = u32[0];
    if ((b & 0x7fffffff) > 0x7f800000) {
      out[i] = ((b >>> 16) | 0x0040) & 0xffff; // NaN: keep sign, force a quiet NaN
    } else {
      out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
    }
  }
  return out;
}

/** float32 values of bfloat16 bit patterns (exact). @param bits - bf16 bit patterns */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const o32 = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) o32[i] = bits[i] << 16;
  return out;
}

/** float16 (IEEE binary16) bits of each float32 (round to nearest even). @param x - float32 values */
export function f32ToF16(x: Float32Array | ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    f32[0] = x[i];
    const b = u32[0];
    const sign = (b >>> 16) & 0x8000;
    const exp = (b >>> 23) & 0xff;
    let mant = b & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      if (e < -10) {
        out[i] = sign; // underflows to ±0 (even the largest such value rounds down)
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = mant & ((1 << shift) - 1);
      let m = mant >>> shift;
      if (rest > half || (rest === half && (m & 1))) m++;
      out[i] = sign | m;
    } else {
      const rest = mant & 0x1fff;
      let h = (e << 10) | (mant >>> 13);
      if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // may carry into the exponent, up to Inf: correct
      out[i] = sign | h;
    }
  }
  return out;
}

/** float32 values of float16 bit patterns (exact). @param bits - f16 bit patterns */
export function f16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) out[i] = s * m * 2 ** -24;
    else if (e === 0x1f) out[i] = m ? NaN : s * Infinity;
    else out[i] = s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

/** A float8 format as safetensors names it. */
export type Float8Format = 'F8_E4M3' | 'F8_E5M2';

const FP8 = {
  // e4m3fn: bias 7, no Inf, NaN = S.1111.111, max 448
  F8_E4M3: { ebits: 4, mbits: 3, bias: 7, hasInf: false, max: 448 },
  // e5m2: bias 15, IEEE-like (Inf and NaN), max 57344
  F8_E5M2: { ebits: 5, mbits: 2, bias: 15, hasInf: true, max: 57344 },
} as const;

function fp8Decode(byte: number, fmt: Float8Format): number {
  const f = FP8[fmt];
  const s = byte & 0x80 ? -1 : 1;
  const e = (byte >>> f.mbits) & ((1 << f.ebits) - 1);
  const m = byte & ((1 << f.mbits) - 1);
  const emax = (1 << f.ebits) - 1;
  if (f.hasInf && e === emax) return m ? NaN : s * Infinity;
  if (!f.hasInf && e === emax && m === (1 << f.mbits) - 1) return NaN;
  if (e === 0) return s * m * 2 ** (1 - f.bias - f.mbits);
  return s * (1 + m / (1 << f.mbits)) * 2 ** (e - f.bias);
}

/** float32 values of float8 bytes (exact). @param bytes - fp8 values @param fmt - `'F8_E4M3'` (e4m3fn) or `'F8_E5M2'` */
export function fp8ToF32(bytes: Uint8Array, fmt: Float8Format): Float32Array {
  const table = new Float32Array(256);
  for (let b = 0; b < 256; b++) table[b] = fp8Decode(b, fmt);
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = table[bytes[i]];
  return out;
}

/**
 * float8 bytes of each float32, rounded to nearest even as PyTorch's cast does; a value that
 * rounds past the largest finite one becomes NaN for e4m3fn (which has no Inf) and ±Inf for e5m2.
 * @param x - float32 values @param fmt - the fp8 format
 */
export function f32ToFp8(x: Float32Array | ArrayLike<number>, fmt: Float8Format): Uint8Array {
  const f = FP8[fmt];
  // All finite non-negative codes in increasing order, to round by search.
  const codes: number[] = [];
  const values: number[] = [];
  for (let b = 0; b < 0x80; b++) {
    const v = fp8Decode(b, fmt);
    if (Number.isFinite(v)) {
      codes.push(b);
      values.push(v);
    }
  }
  const nan = 0x7f; // a NaN in both formats
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isNaN(v)) {
      out[i] = nan;
      continue;
    }
    const sign = v < 0 || Object.is(v, -0) ? 0x80 : 0;
    const a = Math.abs(v);
    const top = values[values.length - 1];
    if (a > top) {
      // Beyond the largest finite value: round-to-nearest-even decides between max and overflow.
      const step = top - values[values.length - 2];
      const half = top + step / 2;
      if (a < half || (a === half && (codes[codes.length - 1] & 1) === 0)) {
        out[i] = sign | codes[codes.length - 1];
      } else {
        out[i] = f.hasInf ? sign | (((1 << f.ebits) - 1) << f.mbits) : sign | 0x7f;
      }
      continue;
    }
    let lo = 0;
    let hi = values.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (values[mid] <= a) lo = mid;
      else hi = mid;
    }
    let pick = lo;
    if (values[hi] <= a) pick = hi;
    else {
      const dl = a - values[lo];
      const dh = values[hi] - a;
      if (dh < dl || (dh === dl && (codes[hi] & 1) === 0)) pick = hi;
    }
    out[i] = sign | codes[pick];
  }
  return out;
}
