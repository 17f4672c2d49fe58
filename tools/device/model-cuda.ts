// The whole Falcon-H1 model on the `cuda` backend (bundled by tools/device/run-model-cuda.sh into
// .device/model-cuda.mjs and run on the GPU machine). Three parts, each result printed and written
// to <out>/model-cuda.json:
//  (a) parity with transformers on the fixtures in <fixtures>/*: logits, hidden states, loss and
//      every gradient (relative error, exact-f32 products), and greedy generation;
//  (b) 50 training steps of the `tiny` preset on cuda (f32) and on cpu in the same process, loss by loss;
//  (c) forward and training-step tokens/s and peak memory of a model with Falcon-H1-0.5B shapes
//      (TF32 products) at batch × seqlen (default 1 × 2048), for the layer counts asked for (scaled to
//      36 by the caller): each layer count in a fresh process (this script with --throughput-child),
//      the allocator's peak restarted before the forward and before training.
// Every @falcon op runs its CUDA kernel (the packages' csrc/ addons, found through $FALCON_<PKG>_CUDA_ADDON).
// Arguments: --out DIR, --fixtures DIR, --train-steps N, --layers 4,36, --seqlen N, --batch N, --budget SECONDS,
// --skip parity,train,throughput, --order (default parity,train,throughput).
// Exit status: 0 when every parity row passes and the training losses agree (see train()), 1 otherwise.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableBackends, initBackend, tf } from '@falcon/tensor';
import type { CudaBackend, Tensor, Tensor2D } from '@falcon/tensor';
import { relativeError } from '@falcon/tensor/testing';
import { loadSafetensors } from '@falcon/checkpoint';
import { FalconH1ForCausalLM, PRESETS, Trainer, TokenBatches, ByteTokenizer, hybridConfig } from '@falcon/hybrid';
import { falconH1Config05b } from '../../benchmarks/lib/shapes_05b.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const outDir = arg('out', process.env.OUT ?? '/tmp/falcon-out');
const fixturesDir = arg('fixtures', '.device/fixtures');
const trainSteps = Number(arg('train-steps', '50'));
const layerCounts = arg('layers', '4').split(',').map(Number);
const seqlen = Number(arg('seqlen', '2048'));
const batch = Number(arg('batch', '1'));
const throughputChildLayers = args.includes('--throughput-child') ? Number(arg('throughput-child', '0')) : undefined;
const budgetS = Number(arg('budget', '200'));
const corpus = arg('corpus', '.device/corpus.txt');
const skip = new Set(arg('skip', '').split(','));
mkdirSync(outDir, { recursive: true });

const result: Record<string, unknown> = { started: new Date().toISOString() };
const save = () => writeFileSync(join(outDir, 'model-cuda.json'), JSON.stringify(result, null, 1));
const cuda = () => tf.backend() as CudaBackend;
const fmt = (x: number | undefined) => (x === undefined ? "-" : x === 0 ? "0" : x.toExponential(2));

async function parity(): Promise<void> {
  await tf.setBackend('cuda');
  cuda().matmulPrecision = 'f32';
  const rows: Record<string, unknown>[] = [];
  result.parity = rows;
  for (const name of readdirSync(fixturesDir).sort()) {
    const dir = join(fixturesDir, name) + '/';
    const t0 = Date.now();
    const row: Record<string, unknown> = { fixture: name };
    rows.push(row);
    try {
      const model = await FalconH1ForCausalLM.fromPretrained(dir);
      const ref = await loadSafetensors(join(dir, 'reference.safetensors'));
      const ids = ref.get('input_ids')! as Tensor2D;
      row.inputShape = ids.shape;
      const out = model.forward(ids, { labels: ids, outputHiddenStates: true });
      row.logits = relativeError(out.logits, ref.get('logits')!);
      row.hiddenStates = Math.max(...out.hiddenStates!.map((h, i) => relativeError(h, ref.get(`hidden_states.${i}`)!)));
      const refLoss = ref.get('loss')!.dataSync()[0];
      row.loss = Math.abs(out.loss!.dataSync()[0] - refLoss) / refLoss;
      const { loss, grads } = model.valueAndGrads(ids, { labels: ids });
      row.lossGrad = Math.abs(loss.dataSync()[0] - refLoss) / refLoss;
      const tied = model.config.base.tie_word_embeddings;
      const names = [...ref.keys()].filter((k) => k.startsWith('grad.')).map((k) => k.slice(5)).filter((k) => !(tied && k === 'lm_head.weight'));
      let worst = 0;
      let worstName = '';
      const missing: string[] = [];
      for (const k of names) {
        if (!grads[k]) {
          missing.push(k);
          continue;
        }
        const e = relativeError(grads[k], ref.get(`grad.${k}`)!);
        if (e > worst || Number.isNaN(e)) [worst, worstName] = [e, k];
      }
      row.grads = names.length;
      row.gradMaxRel = worst;
      row.gradWorst = worstName;
      if (missing.length) row.gradMissing = missing;
      tf.dispose([out.logits, out.loss!, ...out.hiddenStates!, loss, ...Object.values(grads), ...ref.values()]);
      const gen = await loadSafetensors(join(dir, 'generate.safetensors'));
      const prompt = gen.get('prompt')! as Tensor2D;
      const greedy = gen.get('greedy')!;
      const toks = await model.generate(prompt, { maxNewTokens: greedy.shape[1]! - prompt.shape[1]!, attentionMask: gen.get('prompt_mask') as Tensor2D | undefined, eosTokenId: null });
      row.generateEqual = JSON.stringify(toks.arraySync()) === JSON.stringify(greedy.arraySync());
      tf.dispose([toks, ...gen.values()] as Tensor[]);
      model.dispose();
      row.pass = (row.logits as number) < 1e-4 && (row.hiddenStates as number) < 1e-4 && (row.loss as number) < 1e-5 && worst < 1e-3 && !missing.length && row.generateEqual;
    } catch (e) {
      row.error = String((e as Error).stack ?? e);
      row.pass = false;
    }
    row.seconds = (Date.now() - t0) / 1000;
    console.log(
      `parity ${name}: logits ${fmt(row.logits as number)} hidden ${fmt(row.hiddenStates as number)} loss ${fmt(row.loss as number)} ` +
        `grads(${row.grads}) max ${fmt(row.gradMaxRel as number)} [${row.gradWorst}] generate ${row.generateEqual ? 'equal' : 'DIFFERENT'} ` +
        `${row.pass ? 'PASS' : 'FAIL'} (${row.seconds} s)${row.error ? ' ERROR ' + row.error : ''}`,
    );
    save();
  }
}

async function trainOn(backend: 'cpu' | 'cuda', tokens: Int32Array): Promise<{ losses: number[]; seconds: number }> {
  await tf.setBackend(backend);
  if (backend === 'cuda') cuda().matmulPrecision = 'f32';
  const model = new FalconH1ForCausalLM(hybridConfig(PRESETS.tiny), 0);
  const trainer = new Trainer(model, new TokenBatches(tokens, 8, 64, 0), { steps: trainSteps, lr: 3e-3 }, `/tmp/falcon-train-${backend}`);
  const losses: number[] = [];
  const t0 = Date.now();
  for (let s = 0; s < trainSteps; s++) losses.push((await trainer.trainStep()).loss);
  const seconds = (Date.now() - t0) / 1000;
  model.dispose();
  return { losses, seconds };
}

/**
 * Largest relative difference of a cuda training loss from the cpu one. Both runs use exact f32
 * products, but the CUDA kernels sum in other orders than the cpu kernels (the cpu SSD works in
 * float64): differences of ~1e-7 per op grow through 50 AdamW steps; 1e-4 still separates a
 * rounding difference from a wrong gradient (which moves the loss by > 1e-2 within a few steps).
 */
const TRAIN_TOL = 1e-4;

async function train(): Promise<void> {
  const tokens = Int32Array.from(new ByteTokenizer().encode(readFileSync(corpus, 'utf8')));
  const cpu = await trainOn('cpu', tokens);
  const gpu = await trainOn('cuda', tokens);
  const rel = gpu.losses.map((l, i) => Math.abs(l - cpu.losses[i]) / Math.abs(cpu.losses[i]));
  result.train = { steps: trainSteps, batch: 8, seqlen: 64, cpu, cuda: gpu, maxRelDiff: Math.max(...rel), relDiff: rel };
  console.log('step  cpu loss   cuda loss  rel diff');
  cpu.losses.forEach((l, i) => console.log(`${String(i + 1).padStart(4)}  ${l.toFixed(6)}  ${gpu.losses[i].toFixed(6)}  ${fmt(rel[i])}`));
  console.log(`train: ${trainSteps} steps, max relative loss difference ${fmt(Math.max(...rel))}; cpu ${cpu.seconds} s, cuda ${gpu.seconds} s`);
  save();
}

/** Falcon-H1-0.5B shapes (intermediate_size 2048 assumed), `layers` layers. */
/** peakBytesInUse of the cuda backend's allocator. */
const peakBytes = () => (cuda().memory() as unknown as { peakBytesInUse: number }).peakBytesInUse;

/**
 * Forward and training-step throughput of one model (`layers` layers) in this process: the
 * allocator's peak is restarted before the forward runs and again before training, so each peak
 * is that phase's own (weights, and for training the optimizer state, included).
 */
async function throughputOne(layers: number, budget: number, row: Record<string, unknown>): Promise<void> {
  const started = Date.now();
  await tf.setBackend('cuda');
  cuda().matmulPrecision = 'tf32';
  cuda().emptyCache();
  const model = new FalconH1ForCausalLM(hybridConfig(falconH1Config05b(layers)), 0);
  row.params = Object.values(model.variables()).reduce((a, v) => a + v.size, 0);
  const ids = tf.tensor2d(Int32Array.from({ length: batch * seqlen }, (_, i) => (i * 7919 + 13) % 32784), [batch, seqlen], 'int32');
  const fwd = async () => {
    const t0 = performance.now();
    const out = model.forward(ids);
    await tf.sum(out.logits).data();
    tf.dispose(out.logits);
    return (performance.now() - t0) / 1000;
  };
  row.weightsBytes = (cuda().memory() as unknown as { bytesInUse: number }).bytesInUse;
  cuda().resetPeakMemory();
  row.forwardWarmupS = await fwd();
  const fs = [await fwd(), await fwd(), await fwd()].sort((a, b) => a - b);
  row.forwardS = fs[1]; // median of 3
  row.forwardTokensPerS = (batch * seqlen) / (row.forwardS as number);
  row.forwardPeakBytes = peakBytes();
  console.log(`throughput ${layers} layers: forward ${(row.forwardS as number).toFixed(2)} s = ${(row.forwardTokensPerS as number).toFixed(0)} tok/s (warm-up ${(row.forwardWarmupS as number).toFixed(2)} s)`);
  const tokens = Int32Array.from({ length: batch * seqlen * 4 + 1 }, (_, i) => (i * 104729 + 7) % 32784);
  const trainer = new Trainer(model, new TokenBatches(tokens, batch, seqlen, 0), { steps: 10, lr: 1e-4 }, '/tmp/falcon-bench');
  cuda().resetPeakMemory();
  const m1 = await trainer.trainStep();
  row.trainWarmupS = m1.tokens / m1.tokensPerSec;
  if ((Date.now() - started) / 1000 + 3 * (row.trainWarmupS as number) < budget) {
    const ms = [await trainer.trainStep(), await trainer.trainStep(), await trainer.trainStep()];
    const m2 = ms.sort((a, b) => b.tokensPerSec - a.tokensPerSec)[1]; // median of 3
    row.trainS = m2.tokens / m2.tokensPerSec;
    row.trainTokensPerS = m2.tokensPerSec;
    row.loss = m2.loss;
  } else {
    row.trainS = row.trainWarmupS;
    row.trainTokensPerS = m1.tokensPerSec;
    row.note = 'one training step only (budget)';
  }
  row.trainPeakBytes = peakBytes();
  console.log(
    `throughput ${layers} layers (${((row.params as number) / 1e6).toFixed(1)} M params): train step ${(row.trainS as number).toFixed(2)} s = ${(row.trainTokensPerS as number).toFixed(1)} tok/s ` +
      `(warm-up ${(row.trainWarmupS as number).toFixed(2)} s), peak ${((row.trainPeakBytes as number) / 2 ** 30).toFixed(2)} GiB (forward ${((row.forwardPeakBytes as number) / 2 ** 30).toFixed(2)} GiB)`,
  );
  ids.dispose();
  model.dispose();
}

/**
 * Throughput of each layer count, each measured in a fresh process (this script again with
 * `--throughput-child`), so that no model inherits another's allocator cache, peak or tfjs state.
 */
async function throughput(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  result.throughput = rows;
  const started = Date.now();
  let perLayerStep = 0;
  for (const layers of layerCounts) {
    const left = budgetS - (Date.now() - started) / 1000;
    if (perLayerStep > 0 && perLayerStep * layers * 4 > left) {
      console.log(`throughput: ${layers} layers skipped (projected ${(perLayerStep * layers * 4).toFixed(0)} s > ${left.toFixed(0)} s left)`);
      rows.push({ layers, skipped: `projected ${(perLayerStep * layers * 4).toFixed(0)} s > ${left.toFixed(0)} s left` });
      continue;
    }
    const dir = join(outDir, `throughput-${layers}`);
    const childArgs = [process.argv[1], '--throughput-child', String(layers), '--out', dir, '--budget', String(Math.max(30, Math.floor(left))), '--seqlen', String(seqlen), '--batch', String(batch)];
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [...process.execArgv, ...childArgs], { stdio: 'inherit', env: process.env });
      child.on('error', () => resolve(-1));
      child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : -1)));
    });
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(readFileSync(join(dir, 'throughput-row.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      row = { layers, batch, seqlen, error: `the throughput process exited with ${code} and wrote no row` };
    }
    if (code !== 0 && !row.error) row.error = `the throughput process exited with ${code}`;
    rows.push(row);
    if (typeof row.trainWarmupS === 'number') perLayerStep = row.trainWarmupS / layers;
    save();
  }
}

/** The `--throughput-child <layers>` process: one model's throughput row into <out>/throughput-row.json. */
async function throughputChild(layers: number): Promise<number> {
  const row: Record<string, unknown> = { layers, batch, seqlen, precision: 'tf32', process: 'fresh' };
  const write = () => writeFileSync(join(outDir, 'throughput-row.json'), JSON.stringify(row, null, 1));
  try {
    const status = (await availableBackends()).find((s) => s.name === 'cuda')!;
    if (!status.available) throw new Error(`cuda backend unavailable: ${status.reason}`);
    await initBackend('cuda', { matmulPrecision: 'tf32' });
    await throughputOne(layers, budgetS, row);
    write();
    return 0;
  } catch (e) {
    row.error = String((e as Error).stack ?? e);
    console.log(`throughput ${layers} layers: ERROR ${row.error}`);
    write();
    return 1;
  }
}

async function main(): Promise<number> {
  if (throughputChildLayers !== undefined) return throughputChild(throughputChildLayers);
  {
    const status = (await availableBackends()).find((s) => s.name === 'cuda')!;
    if (!status.available) {
      console.log(`cuda backend unavailable: ${status.reason}`);
      result.available = false;
      result.reason = status.reason;
      save();
      return 2;
    }
    const info = await initBackend('cuda', { matmulPrecision: 'f32' });
    result.device = info.info;
  }
  console.log(`cuda backend: ${JSON.stringify(result.device)}`);
  save();
  const parts: Record<string, () => Promise<void>> = { parity, train, throughput };
  for (const name of arg('order', 'parity,train,throughput').split(',')) {
    const f = parts[name];
    if (skip.has(name)) continue;
    const t0 = Date.now();
    try {
      await f();
    } catch (e) {
      result[`${name}Error`] = String((e as Error).stack ?? e);
      console.log(`${name}: ERROR ${String((e as Error).stack ?? e)}`);
    }
    console.log(`== ${name} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    save();
  }
  result.finished = new Date().toISOString();
  const parityRows = (result.parity as { pass: boolean }[] | undefined) ?? [];
  const trainRes = result.train as { maxRelDiff: number } | undefined;
  const throughputRows = (result.throughput as { error?: string }[] | undefined) ?? [];
  const failed = [
    ...parityRows.filter((r) => !r.pass).map(() => 'parity'),
    ...throughputRows.filter((r) => r.error).map(() => 'throughput'),
    ...(trainRes && !(trainRes.maxRelDiff <= TRAIN_TOL) ? ['train'] : []),
    ...Object.keys(result).filter((k) => k.endsWith('Error')),
  ];
  result.failed = failed;
  save();
  console.log(failed.length ? `model-cuda: FAILED (${[...new Set(failed)].join(', ')})` : 'model-cuda: all parts passed');
  return failed.length ? 1 : 0;
}

main().then(
  (rc) => process.exit(rc),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
