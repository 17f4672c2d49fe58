// Where a training step's time and memory go on the `cuda` backend, at Falcon-H1-0.5B shapes.
// For each recompute policy asked for: the step's wall time, tokens/s and allocator peak (median of
// 3 steps after a warm-up, peak restarted before training), then one profiled step: every
// top-level tfjs kernel is bracketed by CUDA events (its GPU time) and host clocks (its dispatch
// time), summed by kernel name. Printed as a table and written to <out>/profile-step.json.
// Run on the device through tools/device/run-profile.sh (bundled by tools/device/prepare-profile.sh).
// Arguments: --out DIR, --layers N (default 36), --batch B (4), --seqlen L (2048),
// --recompute none,layer (policies, comma-separated), --precision tf32|bf16|f32 (the backend's
// matmulPrecision, default tf32), --ssd-form auto|kernel|matmul (setSsdForm, default auto),
// --top K (30 kernels listed), --model 0.5b|0.5b-attention|1.5b-deep (benchmarks/lib/model_shapes.ts;
// --layers defaults to that model's depth), --timed N (timed steps after the warm-up, default 3; the
// median is reported), --no-profile (skip the profiled step: long sequences), --forward (also time
// the forward pass alone, full logits, no tape: prefill tokens/s and its peak).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, tf } from '@falcon/tensor';
import type { CudaBackend } from '@falcon/tensor';
import { FalconH1ForCausalLM, Trainer, TokenBatches, hybridConfig } from '@falcon/hybrid';
import type { RecomputePolicy } from '@falcon/hybrid';
import { setSsdForm } from '@falcon/mamba2';
import type { SsdForm } from '@falcon/mamba2';
import { modelShape } from '../lib/model_shapes.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const outDir = arg('out', process.env.OUT ?? '/tmp/falcon-out');
const modelName = arg('model', '0.5b');
const layers = args.includes('--layers') ? Number(arg('layers', '36')) : undefined;
const timed = Number(arg('timed', '3'));
const doProfile = !args.includes('--no-profile');
const doForward = args.includes('--forward');
const batch = Number(arg('batch', '4'));
const seqlen = Number(arg('seqlen', '2048'));
const policies = arg('recompute', 'none,layer').split(',') as RecomputePolicy[];
const top = Number(arg('top', '30'));
const precision = arg('precision', 'tf32') as 'tf32' | 'bf16' | 'f32';
const ssdForm = arg('ssd-form', 'auto') as SsdForm;
setSsdForm(ssdForm);
mkdirSync(outDir, { recursive: true });

interface Addon {
  eventRecord(): number;
  eventElapsed(a: number, b: number): number;
}
const cuda = () => tf.backend() as CudaBackend;
const addon = () => (cuda() as unknown as { addon: Addon }).addon;
const mem = () => cuda().memory() as unknown as { bytesInUse: number; peakBytesInUse: number };
const GiB = 2 ** 30;

/** Runs `f` with every top-level kernel timed; returns the per-name sums. */
interface Profile {
  rows: { name: string; count: number; gpuMs: number; hostMs: number }[];
  gpuMs: number;
  hostMs: number;
  wallMs: number;
  kernels: number;
  /** Bytes in use before the step, and the most in use after any kernel, with that kernel (name, ordinal, the kernels before it). */
  memory: { startGiB: number; peakGiB: number; peakKernel: string; peakOrdinal: number; before: string[] };
}

/** Runs `f` with every top-level kernel timed; returns the per-name sums and where memory peaked. */
async function profiled(f: () => Promise<unknown>): Promise<Profile> {
  const engine = tf.engine() as unknown as { runKernel: (name: string, inputs: unknown, attrs: unknown) => unknown };
  const original = engine.runKernel;
  const marks: { name: string; a: number; b: number; host: number }[] = [];
  let depth = 0;
  const startBytes = mem().bytesInUse;
  let peak = startBytes;
  let peakAt = -1;
  engine.runKernel = function (name, inputs, attrs) {
    if (depth > 0) return original.call(this, name, inputs, attrs);
    depth++;
    const a = addon().eventRecord();
    const t0 = performance.now();
    try {
      return original.call(this, name, inputs, attrs);
    } finally {
      const host = performance.now() - t0;
      marks.push({ name, a, b: addon().eventRecord(), host });
      const used = mem().bytesInUse;
      if (used > peak) {
        peak = used;
        peakAt = marks.length - 1;
      }
      depth--;
    }
  };
  const t0 = performance.now();
  try {
    await f();
  } finally {
    engine.runKernel = original;
  }
  const wallMs = performance.now() - t0;
  const by = new Map<string, { name: string; count: number; gpuMs: number; hostMs: number }>();
  let gpuMs = 0;
  let hostMs = 0;
  for (const m of marks) {
    const ms = addon().eventElapsed(m.a, m.b);
    const r = by.get(m.name) ?? { name: m.name, count: 0, gpuMs: 0, hostMs: 0 };
    r.count++;
    r.gpuMs += ms;
    r.hostMs += m.host;
    by.set(m.name, r);
    gpuMs += ms;
    hostMs += m.host;
  }
  const memory = {
    startGiB: startBytes / GiB,
    peakGiB: peak / GiB,
    peakKernel: peakAt >= 0 ? marks[peakAt].name : '(before the step)',
    peakOrdinal: peakAt,
    before: marks.slice(Math.max(0, peakAt - 8), Math.max(0, peakAt)).map((m) => m.name),
  };
  return { rows: [...by.values()].sort((x, y) => y.gpuMs - x.gpuMs), gpuMs, hostMs, wallMs, kernels: marks.length, memory };
}

/**
 * The forward pass alone (eval, full `[batch, seqlen, vocab]` logits, no tape), as the anchor's
 * forward row times it: one warm-up, then the median of `timed` passes, each ended by reading one
 * summed scalar back (so the GPU work is done); the peak is over those passes, weights included.
 */
async function timeForward(model: FalconH1ForCausalLM, tokens: Int32Array, depth: number): Promise<Record<string, number>> {
  const ids = tf.tensor2d(tokens.subarray(0, batch * seqlen), [batch, seqlen], 'int32');
  const pass = async () => {
    const t0 = performance.now();
    const s = tf.tidy(() => tf.sum(model.forward(ids).logits));
    await s.data();
    s.dispose();
    return (performance.now() - t0) / 1e3;
  };
  await pass();
  cuda().resetPeakMemory();
  const ts: number[] = [];
  for (let i = 0; i < Math.max(timed, 3); i++) ts.push(await pass());
  ids.dispose();
  ts.sort((a, b) => a - b);
  const s = ts[Math.floor(ts.length / 2)];
  const row = { forwardS: s, tokensPerS: (batch * seqlen) / s, peakGiB: mem().peakBytesInUse / GiB };
  console.log(`\n== forward ${modelName} (${depth} layers) ${batch} × ${seqlen} (${precision}): ${s.toFixed(3)} s = ${row.tokensPerS.toFixed(0)} tok/s, peak ${row.peakGiB.toFixed(2)} GiB`);
  return row;
}

async function main(): Promise<void> {
  await initBackend('cuda');
  cuda().matmulPrecision = precision;
  const shape = modelShape(modelName, layers);
  const depth = shape.config.num_hidden_layers as number;
  const result: Record<string, unknown> = { date: new Date().toISOString(), model: modelName, layers: depth, batch, seqlen, precision, ssdForm, timed, policies: {} };
  const tokens = Int32Array.from({ length: batch * seqlen * (timed + 3) + 1 }, (_, i) => (i * 104729 + 7) % 32784);
  for (const recompute of policies) {
    cuda().emptyCache();
    const model = new FalconH1ForCausalLM(hybridConfig(shape.config, { layers: shape.layers }), 0);
    const parameters = Object.values(model.variables()).reduce((n, v) => n + v.size, 0);
    if (doForward && recompute === policies[0]) result.forward = await timeForward(model, tokens, depth);
    const trainer = new Trainer(model, new TokenBatches(tokens, batch, seqlen, 0), { steps: 100, lr: 1e-4, recompute }, `/tmp/falcon-profile-${recompute}`);
    cuda().resetPeakMemory();
    const warm = await trainer.trainStep();
    const ms: Awaited<ReturnType<Trainer['trainStep']>>[] = [];
    for (let s = 0; s < timed; s++) ms.push(await trainer.trainStep());
    ms.sort((a, b) => b.tokensPerSec - a.tokensPerSec);
    const peak = mem().peakBytesInUse;
    const prof = doProfile ? await profiled(() => trainer.trainStep()) : undefined;
    const median = ms[Math.floor(ms.length / 2)];
    const row: Record<string, unknown> & { stepS: number; tokensPerS: number; peakGiB: number; warmupS: number; kernels: Profile['rows'] } = {
      recompute,
      parameters,
      warmupS: warm.tokens / warm.tokensPerSec,
      stepS: median.tokens / median.tokensPerSec,
      tokensPerS: median.tokensPerSec,
      losses: [warm.loss, ...ms.map((m) => m.loss)],
      peakGiB: peak / GiB,
      profiledStep: prof && { wallMs: prof.wallMs, gpuMs: prof.gpuMs, hostMs: prof.hostMs, kernels: prof.kernels, memory: prof.memory },
      kernels: prof?.rows.slice(0, top) ?? [],
    };
    (result.policies as Record<string, unknown>)[recompute] = row;
    console.log(`\n== ${modelName} (${depth} layers, ${(parameters / 1e6).toFixed(1)} M parameters) ${batch} × ${seqlen}, recompute ${recompute} (${precision}): step ${row.stepS.toFixed(3)} s = ${row.tokensPerS.toFixed(0)} tok/s, peak ${row.peakGiB.toFixed(2)} GiB (warm-up ${row.warmupS.toFixed(2)} s)`);
    if (!prof) {
      trainer.dispose();
      model.dispose();
      writeFileSync(join(outDir, 'profile-step.json'), JSON.stringify(result, null, 1));
      continue;
    }
    console.log(`profiled step: wall ${prof.wallMs.toFixed(0)} ms, GPU sum ${prof.gpuMs.toFixed(0)} ms, host sum ${prof.hostMs.toFixed(0)} ms, ${prof.kernels} kernels`);
    const pm = prof.memory;
    console.log(`memory: ${pm.startGiB.toFixed(2)} GiB in use before the step, peak ${pm.peakGiB.toFixed(2)} GiB after kernel #${pm.peakOrdinal} ${pm.peakKernel} (after ${pm.before.join(', ')})`);
    console.log('kernel'.padEnd(28) + 'count'.padStart(7) + 'GPU ms'.padStart(10) + 'host ms'.padStart(10) + '  % GPU');
    for (const r of row.kernels) console.log(r.name.padEnd(28) + String(r.count).padStart(7) + r.gpuMs.toFixed(1).padStart(10) + r.hostMs.toFixed(1).padStart(10) + `  ${((100 * r.gpuMs) / prof.gpuMs).toFixed(1)}`);
    trainer.dispose();
    model.dispose();
    (row as Record<string, unknown>).leftAfterDisposeGiB = mem().bytesInUse / GiB;
    writeFileSync(join(outDir, 'profile-step.json'), JSON.stringify(result, null, 1));
  }
}

await main();
