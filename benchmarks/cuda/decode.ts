// Decode and prefill speed of Falcon-H1 at the 0.5B shapes (random weights) against the memory
// bandwidth floor, as the anchor script anchor_decode.py ($FALCON_ANCHORS) measures transformers:
// - decode: greedy `generate` of 1 and 1 + N new tokens after a P-token prompt at each batch;
//   decode tokens/s = batch · N / (T(1 + N) − T(1)) (median of R runs after a warm-up);
// - per step (8 cached steps after a prefill, profiled): host (dispatch) time vs GPU time (cuda),
//   kernels per step;
// - floor: bytes a step must read and write (weights, plus the Mamba-2 conv and SSM states read and
//   written and the KV cache read at the mean length and its new row written) / the copy bandwidth
//   measured here (a large device-to-device elementwise copy: bytes read + written / time);
//   ratio = measured / floor tokens/s;
// - prefill tokens/s of one sequence per length (one shot, and chunked with --prefill-chunk), with
//   the allocator peak on cuda;
// - ternary: the same shapes with every linear BitNet, against the packed weights' floor: first the
//   training form (the model's bitnet options: float weights quantised per step) at batch 1, then
//   the same model after `packTernary()` (every BitNet linear a 2-bit packed weight, int8
//   activations through ternaryMatmul: the inference form) at each batch, with the time packing took.
// Writes <out>/decode.json and decode.md (machine, date, commit). Run on the GPU by
// tools/device/run-decode.sh; on cpu for a check: --backend cpu --config tiny.
// Arguments: --backend cuda|webgpu|cpu (cuda), --config 05b|tiny (05b), --layers N (36; tiny 2),
// --prompt P (128), --new N (128), --batches 1,8,64, --prefill 2048,32768, --prefill-chunk C (2048),
// --reps R (3), --copy-mib M (1024), --precision tf32|bf16|f32 (cuda matmul precision, tf32),
// --no-ternary, --out DIR (benchmarks/results).
import { execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { initBackend, tf } from '@falcon/tensor';
import type { BackendName, Tensor2D } from '@falcon/tensor';
import { FalconH1ForCausalLM, generate, hybridConfig, prefillPrompt } from '@falcon/hybrid';
import type { HybridConfig, LayerCache } from '@falcon/hybrid';
import { falconH1Config05b } from '../lib/shapes_05b.js';
import { clocked } from '../lib/kernel_clock.js';
import { RESULTS_DIR, writeResults } from '../lib/report.js';
import type { Row } from '../lib/report.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const list = (s: string) => s.split(',').filter(Boolean).map(Number);
const backend = arg('backend', 'cuda') as BackendName;
const tiny = arg('config', '05b') === 'tiny';
const layers = Number(arg('layers', tiny ? '2' : '36'));
const P = Number(arg('prompt', '128'));
const N = Number(arg('new', '128'));
const batches = list(arg('batches', '1,8,64'));
const prefills = list(arg('prefill', '2048,32768'));
const prefillChunk = Number(arg('prefill-chunk', '2048'));
const R = Number(arg('reps', '3'));
const copyMiB = Number(arg('copy-mib', '1024'));
const precision = arg('precision', 'tf32') as 'tf32' | 'bf16' | 'f32';
const ternary = !args.includes('--no-ternary');
const outDir = arg('out', RESULTS_DIR);
const MiB = 2 ** 20;

/** The config: the 0.5B shapes, or a tiny one of the same structure for a cpu check. */
function configJson(): Record<string, unknown> {
  const longest = Math.max(P + N + 1, ...prefills);
  const base = falconH1Config05b(layers);
  const sized = tiny
    ? { ...base, vocab_size: 96, hidden_size: 32, intermediate_size: 48, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, mamba_d_ssm: 32, mamba_n_heads: 4, mamba_d_head: 8, mamba_d_state: 8, mamba_chunk_size: 16 }
    : base;
  return { ...sized, max_position_embeddings: Math.max(longest, Number(sized.max_position_embeddings)) };
}

/** The commit measured: .device/commit from tools/device/prepare.sh, else git. */
function commit(): string {
  if (existsSync('.device/commit')) return readFileSync('.device/commit', 'utf8').trim();
  try {
    return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

/** Wait for every queued kernel (a read of a tiny result forces it). */
async function sync(t: tf.Tensor): Promise<void> {
  await tf.tidy(() => tf.sum(tf.slice(tf.reshape(t, [-1]), [0], [1]))).data();
}

/** Median and min of R timed runs of `f` after one warm-up, in ms. */
async function timed(f: () => Promise<void>): Promise<{ median: number; min: number }> {
  await f();
  const ms: number[] = [];
  for (let i = 0; i < R; i++) {
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], min: ms[0] };
}

/** Device copy bandwidth, bytes/s: an elementwise copy of `copyMiB` MiB (read + written) / its time (best of R after a warm-up). */
async function copyBandwidth(): Promise<number> {
  const x = tf.randomUniform([(copyMiB * MiB) / 4]);
  const one = tf.scalar(1);
  const t = await timed(async () => {
    const y = tf.mul(x, one);
    await sync(y);
    y.dispose();
  });
  // the timing includes the reduction of one element and the read of its value (µs against ms)
  tf.dispose([x, one]);
  return (2 * copyMiB * MiB) / (t.min / 1000);
}

/** Bytes a decode step moves besides the weights: Mamba-2 conv + SSM states read and written, KV cache read at length L and a row written. */
function stateBytes(config: HybridConfig, batch: number, kvLength: number): number {
  const b = config.base;
  let bytes = 0;
  for (const l of config.layers) {
    if (l.mambaHeads > 0) {
      const convDim = l.mambaHeads * b.mamba_d_head + 2 * b.mamba_n_groups * b.mamba_d_state;
      bytes += 2 * 4 * batch * (convDim * b.mamba_d_conv + l.mambaHeads * b.mamba_d_head * b.mamba_d_state);
    }
    if (l.kvHeads > 0) bytes += 4 * batch * 2 * l.kvHeads * (b.head_dim ?? b.hidden_size / b.num_attention_heads) * (kvLength + 1);
  }
  return bytes;
}

function disposeCaches(caches: LayerCache[]): void {
  for (const c of caches) {
    c.kv?.dispose();
    if (c.mamba) tf.dispose([c.mamba.convState, c.mamba.ssmState]);
  }
}

const promptIds = (batch: number, len: number, vocab: number) =>
  tf.tensor2d(Int32Array.from({ length: batch * len }, (_, i) => (i * 104729 + 7) % vocab), [batch, len], 'int32') as Tensor2D;

/** Decode rows at each batch: tokens/s, per-step host/GPU time and kernels, floor and ratio. */
async function decodeRows(model: FalconH1ForCausalLM, label: string, bandwidth: number, weightBytes: number, batchList: number[]): Promise<Row[]> {
  const rows: Row[] = [];
  const config = model.config;
  const vocab = config.base.vocab_size;
  for (const batch of batchList) {
    const ids = promptIds(batch, P, vocab);
    const gen = (n: number) => async () => void tf.dispose(await generate(model, ids, { maxNewTokens: n, eosTokenId: null }));
    const t1 = await timed(gen(1));
    const tn = await timed(gen(N + 1));
    const decodeS = (tn.median - t1.median) / 1000;
    // per step: 8 cached steps after a prefill, each read back (as generate's token read)
    const { logits, caches } = prefillPrompt(model, ids, P + 9);
    logits.dispose();
    const steps = 8;
    let pos = tf.fill([batch, 1], P, 'int32') as Tensor2D;
    const tok = tf.zeros([batch, 1], 'int32') as Tensor2D;
    const clock = await clocked(async () => {
      for (let s = 0; s < steps; s++) {
        const out = model.step(tok, pos, caches);
        await out.data();
        out.dispose();
        const next = tf.add(pos, tf.scalar(1, 'int32')) as Tensor2D;
        pos.dispose();
        pos = next;
      }
    });
    tf.dispose([pos, tok, ids]);
    disposeCaches(caches);
    const bytes = weightBytes + stateBytes(config, batch, P + N / 2);
    const floorTokS = batch / (bytes / bandwidth);
    const tokS = (batch * N) / decodeS;
    rows.push({
      model: label,
      batch,
      'T(1) ms': +t1.median.toFixed(2),
      [`T(${N + 1}) ms`]: +tn.median.toFixed(2),
      'decode tok/s': +tokS.toFixed(1),
      'step wall ms': +(clock.wallMs / steps).toFixed(3),
      'step host ms': +(clock.hostMs / steps).toFixed(3),
      'step GPU ms': clock.gpuMs === null ? null : +(clock.gpuMs / steps).toFixed(3),
      'kernels/step': clock.kernels / steps,
      'floor MiB/step': +(bytes / MiB).toFixed(1),
      'floor tok/s': +floorTokS.toFixed(1),
      'of floor': +(tokS / floorTokS).toFixed(3),
    });
    console.log(JSON.stringify(rows[rows.length - 1]));
  }
  return rows;
}

/** Every layer's linear weights (the 2-D projections BitNet makes ternary): name and `[out, in]`. */
const linearShapes = (model: FalconH1ForCausalLM) => [...model.stateDictShapes()].filter(([name, s]) => name.startsWith('model.layers.') && name.endsWith('proj.weight') && s.length === 2);

/** Weight bytes with every layer linear 2-bit packed (`ceil(out/4)·in` bytes) and the rest float32. */
function packedWeightBytes(model: FalconH1ForCausalLM, floatBytes: number): number {
  return linearShapes(model).reduce((s, [, [out, inF]]) => s - 4 * out * inF + Math.ceil(out / 4) * inF, floatBytes);
}

const cudaMemory = () => (tf.getBackend() === 'cuda' ? (tf.backend() as unknown as { memory(): { peakBytesInUse: number }; resetPeakMemory(): void }) : undefined);

/** Prefill tokens/s of one sequence of each length (one shot, and in chunks), with the allocator peak on cuda. */
async function prefillRows(model: FalconH1ForCausalLM): Promise<Row[]> {
  const rows: Row[] = [];
  for (const len of prefills) {
    const ids = promptIds(1, len, model.config.base.vocab_size);
    for (const chunkSize of len > prefillChunk ? [undefined, prefillChunk] : [undefined]) {
      const cm = cudaMemory();
      cm?.resetPeakMemory();
      let error: string | null = null;
      let t = { median: NaN, min: NaN };
      try {
        t = await timed(async () => {
          const { logits, caches } = prefillPrompt(model, ids, len + 1, { chunkSize });
          await logits.data();
          logits.dispose();
          disposeCaches(caches);
        });
      } catch (e) {
        error = String((e as Error).message ?? e).slice(0, 200);
      }
      const row: Row = {
        'prefill length': len,
        chunk: chunkSize ?? 'one shot',
        ms: +t.median.toFixed(1),
        'tok/s': +(len / (t.median / 1000)).toFixed(0),
        'peak GiB': cm ? +(cm.memory().peakBytesInUse / 2 ** 30).toFixed(3) : null,
        error,
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
    ids.dispose();
  }
  return rows;
}

async function main(): Promise<void> {
  await initBackend(backend);
  if (backend === 'cuda') (tf.backend() as unknown as { matmulPrecision: string }).matmulPrecision = precision;
  const json = configJson();
  const bandwidth = await copyBandwidth();
  console.log(`copy bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s (${copyMiB} MiB read + written)`);
  const model = new FalconH1ForCausalLM(hybridConfig(json), 0);
  // every weight is float32 in the model (stateDictShapes: no tensor made, unlike stateDict's split out_proj)
  const weightBytes = [...model.stateDictShapes().values()].reduce((s, shape) => s + 4 * shape.reduce((a, b) => a * b, 1), 0);
  const rows: Row[] = [];
  const prefill: Row[] = [];
  // written after each phase, so a run stopped by its time limit keeps what it measured
  const save = () =>
    writeResults(tiny ? 'decode-tiny' : `decode-${backend}`, `Falcon-H1 decode and prefill on ${backend} against the bandwidth floor`, rows, {
      backend,
      precision: backend === 'cuda' ? precision : 'f32',
      config: tiny ? 'tiny (cpu check)' : 'Falcon-H1-0.5B shapes, random weights',
      layers,
      commit: commit(),
      prompt: P,
      newTokens: N,
      reps: R,
      copyBandwidthGBs: +(bandwidth / 1e9).toFixed(2),
      weightMiB: +(weightBytes / MiB).toFixed(1),
      method: 'decode tok/s = batch·N / (T(N+1) − T(1)), medians; floor = (weights + conv/SSM states read+written + KV cache read at P+N/2 and a row written) / copy bandwidth',
      prefill,
    }, outDir);
  rows.push(...(await decodeRows(model, 'float32 weights', bandwidth, weightBytes, batches)));
  save();
  prefill.push(...(await prefillRows(model)));
  save();
  model.dispose();
  if (ternary) {
    const tern = new FalconH1ForCausalLM(hybridConfig(json, { bitnet: { attention: true, mamba: true, mlp: true, outProj: true } }), 0);
    const packedBytes = packedWeightBytes(tern, weightBytes);
    // the training form still reads (and quantises) the float weights every step: the gap to the packed floor is that
    rows.push(...(await decodeRows(tern, 'ternary, training form (bitnet options: float weights quantised per step; floor: packed)', bandwidth, packedBytes, [1])));
    save();
    const t0 = performance.now();
    await tern.packTernary();
    const packMs = performance.now() - t0;
    console.log(`packTernary: ${packMs.toFixed(0)} ms`);
    rows.push(...(await decodeRows(tern, `ternary, packed (packTernary() in ${(packMs / 1000).toFixed(1)} s: 2-bit weights, int8 activations)`, bandwidth, packedBytes, batches)));
    tern.dispose();
    save();
  }
}

await main();
