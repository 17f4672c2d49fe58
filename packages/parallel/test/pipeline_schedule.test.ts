// The pipeline schedules as pure data: 1F1B's warm-up / steady / cool-down order and its in-flight
// bound, Megatron's interleaved order, and a replay of every stage together that completes (no
// deadlock) in the expected number of time steps.
import { describe, expect, it } from 'vitest';
import { checkSchedule, interleavedSchedule, oneFOneBSchedule } from '../src/index.js';
import type { PipelineAction } from '../src/index.js';

const str = (as: PipelineAction[]) => as.map((a) => `${a.kind[0].toUpperCase()}${a.microbatch}${a.chunk ? `.${a.chunk}` : ''}`).join(' ');

describe('1F1B', () => {
  it('has the warm-up, steady and cool-down phases of PipeDream-flush', () => {
    const p = { stages: 4, microbatches: 6 };
    expect(str(oneFOneBSchedule(p, 0))).toBe('F0 F1 F2 F3 B0 F4 B1 F5 B2 B3 B4 B5');
    expect(str(oneFOneBSchedule(p, 1))).toBe('F0 F1 F2 B0 F3 B1 F4 B2 F5 B3 B4 B5');
    expect(str(oneFOneBSchedule(p, 2))).toBe('F0 F1 B0 F2 B1 F3 B2 F4 B3 F5 B4 B5');
    expect(str(oneFOneBSchedule(p, 3))).toBe('F0 B0 F1 B1 F2 B2 F3 B3 F4 B4 F5 B5');
  });

  it('fewer microbatches than stages: all forwards, then all backwards', () => {
    expect(str(oneFOneBSchedule({ stages: 4, microbatches: 2 }, 0))).toBe('F0 F1 B0 B1');
  });

  for (const [s, m] of [[2, 4], [4, 4], [4, 8], [3, 5], [4, 1], [1, 3]] as const) {
    it(`PP${s} × ${m} microbatches completes with at most s − rank in flight, in 2·(m + s − 1) steps`, () => {
      const p = { stages: s, microbatches: m };
      const r = checkSchedule(Array.from({ length: s }, (_, k) => oneFOneBSchedule(p, k)), p);
      expect(r.maxInFlight).toEqual(Array.from({ length: s }, (_, k) => Math.min(s - k, m)));
      expect(r.steps).toBe(2 * (m + s - 1));
    });
  }

  it('the bad arguments are named', () => {
    expect(() => oneFOneBSchedule({ stages: 2, microbatches: 0 }, 0)).toThrow(/microbatches must be a positive integer/);
    expect(() => oneFOneBSchedule({ stages: 2, microbatches: 2 }, 2)).toThrow(/stage 2 is not in \[0, 2\)/);
    expect(() => oneFOneBSchedule({ stages: 2, microbatches: 2, chunks: 2 }, 0)).toThrow(/interleavedSchedule/);
  });
});

describe('interleaved 1F1B', () => {
  it("is Megatron's order (PP2, 2 chunks, 4 microbatches)", () => {
    const p = { stages: 2, microbatches: 4, chunks: 2 };
    // warm-up (s − r − 1)·2 + (v − 1)·s: 4 on stage 0, 2 on stage 1
    expect(str(interleavedSchedule(p, 0))).toBe('F0 F1 F0.1 F1.1 F2 B0.1 F3 B1.1 F2.1 B0 F3.1 B1 B2.1 B3.1 B2 B3');
    expect(str(interleavedSchedule(p, 1))).toBe('F0 F1 F0.1 B0.1 F1.1 B1.1 F2 B0 F3 B1 F2.1 B2.1 F3.1 B3.1 B2 B3');
  });

  for (const [s, m, v] of [[2, 4, 2], [4, 4, 2], [4, 8, 2], [2, 6, 3], [3, 3, 2]] as const) {
    it(`PP${s} × ${v} chunks × ${m} microbatches completes, with a smaller bubble than 1F1B`, () => {
      const p = { stages: s, microbatches: m, chunks: v };
      const r = checkSchedule(Array.from({ length: s }, (_, k) => interleavedSchedule(p, k)), p);
      // each of the 2·m·v passes is 1/v of a 1F1B pass: compare time in 1F1B-pass units
      const plain = checkSchedule(Array.from({ length: s }, (_, k) => oneFOneBSchedule({ stages: s, microbatches: m }, k)), { stages: s, microbatches: m });
      expect(r.steps / v).toBeLessThan(plain.steps);
      expect(r.steps).toBeGreaterThanOrEqual(2 * m * v);
    });
  }

  it('needs the microbatches to be a multiple of the stages', () => {
    expect(() => interleavedSchedule({ stages: 2, microbatches: 3, chunks: 2 }, 0)).toThrow(/multiple of the stages/);
  });
});

describe('checkSchedule', () => {
  it('finds a deadlock and names where each stage waits', () => {
    const p = { stages: 2, microbatches: 2 };
    const bad = [oneFOneBSchedule(p, 0), [...oneFOneBSchedule(p, 1)].reverse()];
    expect(() => checkSchedule(bad, p)).toThrow(/deadlocks .*stage 1 at backward of microbatch 1/);
  });

  it('refuses a list that skips a pass', () => {
    const p = { stages: 2, microbatches: 2 };
    expect(() => checkSchedule([oneFOneBSchedule(p, 0).slice(1), oneFOneBSchedule(p, 1)], p)).toThrow(/stage 0 does not run each/);
  });
});
