// Faults on real Gloo groups: a rank killed in the middle of an all-reduce, a rank that stays alive
// but never joins, a rank that never arrives at the rendezvous. Every survivor must fail within the
// timeout (plus the diagnosis grace, at most 3 s, and process start-up) with a CollectiveError
// naming the missing rank and the op, and exit non-zero.
import { describe, expect, it } from 'vitest';
import { dump, runGroup } from './helpers/spawn_group.js';

const TIMEOUT = 4000;
// timeout + diagnosis grace (≤ 3 s) + slack for a loaded 2-core machine
const LIMIT = TIMEOUT + 3000 + 3000;

describe('faults (real processes)', () => {
  it('a rank killed in the middle of an all-reduce: the others fail naming it, and exit non-zero', async () => {
    const out = await runGroup('faults', 3, { args: ['kill'], env: { FAULT_TIMEOUT_MS: String(TIMEOUT) } });
    expect(out[2].signal, dump(out)).toBe('SIGKILL');
    for (const o of out.slice(0, 2)) {
      expect(o.code, dump(out)).toBe(1);
      const r = o.result as { caught: boolean; op: string; missingRank: number; message: string; afterMs: number };
      expect(r.caught, dump(out)).toBe(true);
      expect(r.op).toBe('allReduce');
      expect(r.missingRank, r.message).toBe(2);
      expect(r.message).toMatch(/allReduce/);
      expect(r.message).toMatch(/rank 2 is missing \(its process exited\)/);
      expect(r.afterMs).toBeLessThan(LIMIT);
    }
  });

  it('rank 0 (hosting the store) killed in the middle of an all-reduce: the others name it', async () => {
    const out = await runGroup('faults', 3, { args: ['kill0'], env: { FAULT_TIMEOUT_MS: String(TIMEOUT) } });
    expect(out[0].signal, dump(out)).toBe('SIGKILL');
    for (const o of out.slice(1)) {
      expect(o.code, dump(out)).toBe(1);
      const r = o.result as { caught: boolean; op: string; missingRank: number; message: string; afterMs: number };
      expect(r.caught, dump(out)).toBe(true);
      expect(r.op).toBe('allReduce');
      expect(r.missingRank, r.message).toBe(0);
      expect(r.message).toMatch(/rank 0 is missing/);
      expect(r.afterMs).toBeLessThan(LIMIT);
    }
  });

  it('a rank that never joins an all-reduce: the others time out naming it', async () => {
    const out = await runGroup('faults', 3, { args: ['hang'], env: { FAULT_TIMEOUT_MS: String(TIMEOUT) } });
    for (const o of out.slice(0, 2)) {
      expect(o.code, dump(out)).toBe(1);
      const r = o.result as { caught: boolean; op: string; missingRank: number; message: string; afterMs: number };
      expect(r.caught, dump(out)).toBe(true);
      expect(r.op).toBe('allReduce');
      expect(r.missingRank, r.message).toBe(2);
      expect(r.message).toMatch(/rank 2 is missing \(it did not take part/);
      expect(r.afterMs).toBeGreaterThanOrEqual(TIMEOUT - 500);
      expect(r.afterMs).toBeLessThan(LIMIT);
    }
  });

  it('a receive from a rank that dies: the receiver fails naming it', async () => {
    const out = await runGroup('faults', 3, { args: ['recv'], env: { FAULT_TIMEOUT_MS: String(TIMEOUT) } });
    const r = out[1].result as { caught: boolean; op: string; missingRank: number; message: string; afterMs: number };
    expect(out[1].code, dump(out)).toBe(1);
    expect(r.caught, dump(out)).toBe(true);
    expect(r.op).toBe('recv');
    expect(r.missingRank, r.message).toBe(2);
    expect(r.message).toMatch(/recv failed on rank 1 .*rank 2 is missing \(its process exited\)/);
    expect(r.afterMs).toBeLessThan(LIMIT);
  });

  it('a posted receive (irecv) from a rank that dies: waiting its handle fails naming it', async () => {
    const out = await runGroup('faults', 3, { args: ['irecv'], env: { FAULT_TIMEOUT_MS: String(TIMEOUT) } });
    const r = out[1].result as { caught: boolean; op: string; missingRank: number; message: string; afterMs: number };
    expect(out[1].code, dump(out)).toBe(1);
    expect(r.caught, dump(out)).toBe(true);
    expect(r.op).toBe('recv'); // the native op's name
    expect(r.missingRank, r.message).toBe(2);
    expect(r.message).toMatch(/recv failed on rank 1 .*rank 2 is missing \(its process exited\)/);
    expect(r.afterMs).toBeLessThan(LIMIT);
  });

  it('a rank that never arrives: the rendezvous times out with an error naming it', async () => {
    const out = await runGroup('faults', 3, { args: ['absent'], ranks: [0, 1], env: { FAULT_TIMEOUT_MS: String(TIMEOUT) } });
    for (const o of out) {
      expect(o.code, dump(out)).toBe(1);
      const r = o.result as { caught: boolean; op: string; missingRank: number; message: string; afterMs: number };
      expect(r.caught, dump(out)).toBe(true);
      expect(r.op).toBe('rendezvous');
      expect(r.missingRank).toBe(2);
      expect(r.message).toMatch(/timed out after 4000 ms: rank\(s\) 2 never arrived/);
      expect(r.afterMs).toBeLessThan(LIMIT);
    }
  });
});
