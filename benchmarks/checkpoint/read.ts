// Benchmark: reading a 1 GiB safetensors file (16 F32 tensors of 64 MiB) into tfjs tensors with
// @falcon/checkpoint, against the floor of reading the same file into one buffer with plain fs, in the
// same run. The file is written first (so both reads come from a warm page cache: this measures the
// reader's overhead over the raw read, not the disk), then deleted.
// Run from the repo root: npx tsx benchmarks/checkpoint/read.ts
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '@falcon/tensor';
import { openSafetensors, writeSafetensors } from '@falcon/checkpoint';
import type { LazyTensor } from '@falcon/checkpoint';
import { time, writeResults } from '../lib/report.js';

const TENSORS = 16;
const ROUNDS = 7;
const ELEMENTS = (64 * 2 ** 20) / 4; // 64 MiB of float32 per tensor
const dir = mkdtempSync(join(tmpdir(), 'falcon-bench-'));
const path = join(dir, 'bench.safetensors');

function source(i: number): LazyTensor {
  return {
    dtype: 'F32',
    shape: [ELEMENTS / 1024, 1024],
    load: () => {
      const a = new Float32Array(ELEMENTS);
      for (let j = 0; j < a.length; j += 1024) a[j] = i + j;
      return a;
    },
  };
}

const loadBefore = loadavg()[0];
try {
  const t0 = performance.now();
  await writeSafetensors(path, Array.from({ length: TENSORS }, (_, i) => [`layer.${String(i).padStart(2, '0')}.weight`, source(i)] as const), { fsync: false });
  const writeMs = performance.now() - t0;
  const bytes = statSync(path).size;
  const gb = bytes / 1e9;

  const variants: [string, () => unknown][] = [
    [
      'fs.readFileSync of the whole file (floor)',
      () => {
        const b = readFileSync(path);
        if (b.length !== bytes) throw new Error('short read');
      },
    ],
    [
      'openSafetensors + readTensor × 16, one at a time (tfjs float32, disposed)',
      async () => {
        const r = await openSafetensors(path);
        let check = 0;
        for (const name of r.names) {
          const t = await r.readTensor(name);
          check += (t.dataSync() as Float32Array)[1024];
          t.dispose();
        }
        await r.close();
        if (check !== (TENSORS * (TENSORS - 1)) / 2 + TENSORS * 1024) throw new Error(`wrong data (${check})`);
      },
    ],
    [
      'openSafetensors + readTensors() (4 reads in flight, all 16 held, then disposed)',
      async () => {
        const r = await openSafetensors(path);
        const all = await r.readTensors();
        tf.dispose([...all.values()]);
        await r.close();
      },
    ],
    [
      'openSafetensors + readRaw × 16 (bytes only)',
      async () => {
        const r = await openSafetensors(path);
        for (const name of r.names) await r.readRaw(name);
        await r.close();
      },
    ],
  ];
  // Interleaved rounds (one warm-up round, then ROUNDS timed), so a change of machine load hits every variant alike.
  const runs = variants.map(() => [] as number[]);
  for (let round = 0; round <= ROUNDS; round++) {
    for (let v = 0; v < variants.length; v++) {
      const t = await time(variants[v][1], { warmup: 0, iters: 1 });
      if (round > 0) runs[v].push(t.medianMs);
    }
  }
  const stats = runs.map((r) => {
    const sorted = [...r].sort((x, y) => x - y);
    return { medianMs: sorted[Math.floor(sorted.length / 2)], minMs: sorted[0] };
  });
  const floor = stats[0];

  const row = (what: string, t: { medianMs: number; minMs: number }) => ({
    what,
    'median ms': +t.medianMs.toFixed(1),
    'min ms': +t.minMs.toFixed(1),
    'GB/s (median)': +(gb / (t.medianMs / 1000)).toFixed(2),
    'GB/s (best)': +(gb / (t.minMs / 1000)).toFixed(2),
    'median / floor median': +(t.medianMs / floor.medianMs).toFixed(3),
    'best / floor best': +(t.minMs / floor.minMs).toFixed(3),
  });
  writeResults(
    'checkpoint-read',
    'Reading a 1 GiB safetensors file (16 × 64 MiB F32) into tfjs tensors',
    variants.map(([what], i) => row(what, stats[i])),
    {
      file: `${bytes} bytes (${TENSORS} F32 tensors [16384, 1024]) in os.tmpdir(), written once by writeSafetensors in ${(writeMs / 1000).toFixed(2)} s`,
      method: `${ROUNDS} timed rounds after 1 warm-up round, the variants interleaved within each round (each run timed by benchmarks/lib/report.ts time()); page cache warm for all rows; GB = 1e9 bytes`,
      command: 'npx tsx benchmarks/checkpoint/read.ts',
      'load average (1 min) before / after': `${loadBefore.toFixed(2)} / ${loadavg()[0].toFixed(2)}`,
    },
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
