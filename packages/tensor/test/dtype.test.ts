// bf16/f16/fp8 conversions: exhaustive decode→encode round trips, rounding ties to even, NaN/Inf/subnormals.
import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, f32ToFp8, fp8ToF32 } from '../src/index.js';

const bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];
const fromBits = (b: number) => new Float32Array(new Uint32Array([b]).buffer)[0];

describe('bfloat16', () => {
  it('round-trips every non-NaN bf16 value exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = f32ToBf16(bf16ToF32(all));
    for (let i = 0; i < 65536; i++) {
      const isNaN = (i & 0x7f80) === 0x7f80 && (i & 0x7f) !== 0;
      if (!isNaN) expect(back[i]).toBe(i);
      else expect(Number.isNaN(bf16ToF32(new Uint16Array([back[i]]))[0])).toBe(true);
    }
  });
  it('rounds to nearest, ties to even', () => {
    // 1 + 2^-8 is exactly halfway between bf16 1.0 (0x3f80) and 1.0078125 (0x3f81): ties to even → 0x3f80
    expect(f32ToBf16([fromBits(0x3f808000)])[0]).toBe(0x3f80);
    expect(f32ToBf16([fromBits(0x3f818000)])[0]).toBe(0x3f82); // odd below → rounds up to even
    expect(f32ToBf16([fromBits(0x3f808001)])[0]).toBe(0x3f81); // just above halfway → up
    expect(f32ToBf16([fromBits(0x7f7fffff)])[0]).toBe(0x7f80); // max f32 rounds to +Inf
    expect(f32ToBf16([-Infinity])[0]).toBe(0xff80);
    expect(f32ToBf16([fromBits(0x00000001)])[0]).toBe(0x0000); // tiny subnormal → +0
    expect(f32ToBf16([fromBits(0x00018000)])[0]).toBe(0x0002); // subnormal tie → even
    expect(Number.isNaN(bf16ToF32(f32ToBf16([NaN]))[0])).toBe(true);
    expect(Number.isNaN(bf16ToF32(f32ToBf16([fromBits(0x7f800001)]))[0])).toBe(true); // signalling NaN stays NaN
  });
});

describe('float16', () => {
  it('round-trips every non-NaN f16 value exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = f16ToF32(all);
    const back = f32ToF16(f);
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(f[i])) expect(Number.isNaN(f16ToF32(new Uint16Array([back[i]]))[0])).toBe(true);
      else expect(back[i]).toBe(i);
    }
  });
  it('decodes known values', () => {
    expect(Array.from(f16ToF32(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x7c00, 0xfc00, 0x8000])))).toEqual([
      1, -2, 65504, 2 ** -24, 2 ** -14, Infinity, -Infinity, -0,
    ]);
  });
  it('rounds to nearest even, including subnormals and overflow', () => {
    expect(f32ToF16([1 + 2 ** -11])[0]).toBe(0x3c00); // tie → even (1.0)
    expect(f32ToF16([1 + 3 * 2 ** -11])[0]).toBe(0x3c02); // tie → even (up)
    expect(f32ToF16([65520])[0]).toBe(0x7c00); // halfway to 65536 → Inf (ties to even)
    expect(f32ToF16([65519])[0]).toBe(0x7bff);
    expect(f32ToF16([2 ** -25])[0]).toBe(0x0000); // tie between 0 and the smallest subnormal → 0
    expect(f32ToF16([1.5 * 2 ** -25])[0]).toBe(0x0001);
    expect(f32ToF16([3 * 2 ** -25])[0]).toBe(0x0002); // tie between 1 and 2 ulps → 2 (even)
    expect(f32ToF16([2 ** -14 - 2 ** -25])[0]).toBe(0x0400); // rounds up into the normals
    expect(f32ToF16([-1e-30])[0]).toBe(0x8000);
    expect(f32ToF16([NaN])[0] & 0x7c00).toBe(0x7c00);
    // against float arithmetic: every f32 near f16 boundaries gives the nearest f16
    for (let b = 0x38000000; b < 0x38000000 + 200000; b += 7) {
      const x = fromBits(b);
      const h = f32ToF16([x])[0];
      const y = f16ToF32(new Uint16Array([h]))[0];
      const up = f16ToF32(new Uint16Array([h + 1]))[0];
      const down = f16ToF32(new Uint16Array([h - 1]))[0];
      expect(Math.abs(x - y)).toBeLessThanOrEqual(Math.min(Math.abs(x - up), Math.abs(x - down)));
    }
    void bits;
  });
});

describe('float8', () => {
  for (const fmt of ['F8_E4M3', 'F8_E5M2'] as const) {
    it(`${fmt}: round-trips every non-NaN byte`, () => {
      const all = new Uint8Array(256).map((_, i) => i);
      const f = fp8ToF32(all, fmt);
      const back = f32ToFp8(f, fmt);
      for (let i = 0; i < 256; i++) {
        if (Number.isNaN(f[i])) expect(Number.isNaN(fp8ToF32(new Uint8Array([back[i]]), fmt)[0])).toBe(true);
        else expect(back[i]).toBe(i);
      }
    });
  }
  it('decodes the documented extremes', () => {
    expect(Array.from(fp8ToF32(new Uint8Array([0x7e, 0x01, 0x7f, 0x38]), 'F8_E4M3'))).toEqual([448, 2 ** -9, NaN, 1]);
    expect(Array.from(fp8ToF32(new Uint8Array([0x7b, 0x01, 0x7c, 0x3c]), 'F8_E5M2'))).toEqual([57344, 2 ** -16, Infinity, 1]);
  });
  it('rounds to nearest even and handles overflow like PyTorch', () => {
    expect(f32ToFp8([464], 'F8_E4M3')[0]).toBe(0x7e); // tie between 448 and (NaN) 480 → even → 448
    expect(Number.isNaN(fp8ToF32(f32ToFp8([500], 'F8_E4M3'), 'F8_E4M3')[0])).toBe(true);
    expect(f32ToFp8([1e6], 'F8_E5M2')[0]).toBe(0x7c); // +Inf
    expect(f32ToFp8([-1.0625], 'F8_E4M3')[0]).toBe(0xb8); // tie 1.0 / 1.125 → even (1.0)
  });
});
