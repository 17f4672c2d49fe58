// Distributed checkpoints in one process (a world of one, no process group): the falcon-h1-tiny
// fixture saved and read back gives its logits; incomplete, damaged and mismatched checkpoints are
// refused naming the problem, and a refused save commits nothing; `falcon export` writes what
// fromPretrained loads with equal logits, under the fixture's Hugging Face names and config; a
// run stopped and resumed from a distributed checkpoint gives the losses of an uninterrupted run.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packedWeightTensor, packTernary } from '@falcon/bitnet';
import { openSafetensors } from '@falcon/checkpoint';
import { replicated } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor, Tensor2D } from '@falcon/tensor';
import {
  exportHuggingFace,
  FalconH1ForCausalLM,
  hybridConfig,
  loadDistributedCheckpoint,
  loadModelFromDistributed,
  modelPlan,
  optimizerStateToHf,
  restoreFromDistributed,
  saveDistributedCheckpoint,
  Trainer,
} from '../src/index.js';
import type { DistributedTrainerState, TrainerOptimizer } from '../src/index.js';
import { main } from '../src/cli/main.js';
import { readLatest } from '../src/train/latest.js';
import { sha256 } from '../src/train/durable.js';
import { fixtureDir, readFixture } from './fixtures.js';
import { batches, CONFIG, OPTIONS } from './dp/setup.js';
import { moments } from './dcp/cases.js';

const FIXTURE = fixtureDir('falcon-h1-tiny');
const state = (step: number): DistributedTrainerState => ({ step, optimizerStep: step, options: {}, data: { seed: 0, batchSize: 1, seqlen: 2, tokens: 3, sha256: '' }, rng: { seed: 7 } });

let model: FalconH1ForCausalLM;
let ids: Tensor2D;
let logits: Float32Array;
let run: string;

async function logitsOf(m: FalconH1ForCausalLM): Promise<Float32Array> {
  const { logits: l } = m.forward(ids);
  const out = (await l.data()) as Float32Array;
  l.dispose();
  return out;
}

function saveFixture(dir: string, step: number, plan = modelPlan(model)) {
  const weights = model.stateDict();
  const optimizer = Object.fromEntries(Object.entries(weights).flatMap(([k, w]) => Object.entries(moments(w)).map(([s, t]) => [`${s}.${k}`, t])));
  return saveDistributedCheckpoint(dir, { step, plan, weights, optimizer, state: state(step), config: model.config, sizes: {} });
}

beforeAll(async () => {
  model = await FalconH1ForCausalLM.fromPretrained(FIXTURE);
  ids = (await readFixture('falcon-h1-tiny', 'reference.safetensors')).get('input_ids') as Tensor2D;
  logits = await logitsOf(model);
  run = mkdtempSync(join(tmpdir(), 'falcon-dcp1-'));
  await saveFixture(run, 3);
});

describe('a distributed checkpoint of one rank', () => {
  it('reads back into a model with the same logits, and its trainer state', async () => {
    const { model: back, checkpoint } = await loadModelFromDistributed(run);
    // pure copies of float32 weights: bit for bit
    expect(Array.from(await logitsOf(back))).toEqual(Array.from(logits));
    expect(checkpoint.step).toBe(3);
    expect(checkpoint.state.rng).toEqual({ seed: 7 });
    expect(checkpoint.manifest.sizes).toEqual({ tp: 1, cp: 1, pp: 1, dp: 1 });
    expect(readdirSync(checkpoint.dir).sort()).toEqual(['layout.json', 'rank-00000.safetensors']);
    back.dispose();
  });

  it('refuses incomplete, damaged and mismatched checkpoints, naming the problem', async () => {
    const latest = (await readLatest(run))!;
    const fresh = () => {
      const d = mkdtempSync(join(tmpdir(), 'falcon-dcp1-bad-'));
      cpSync(join(run, latest.checkpoint), d, { recursive: true });
      return d;
    };
    const plan = modelPlan(model);
    const load = (d: string) => loadDistributedCheckpoint(d, { plan });
    let d = fresh();
    rmSync(join(d, 'layout.json'));
    await expect(load(d)).rejects.toThrow(/is not a complete distributed checkpoint: layout\.json is missing \(the save was interrupted before its manifest was written/);
    d = fresh();
    truncateSync(join(d, 'layout.json'), 100);
    await expect(load(d)).rejects.toThrow(/layout\.json is not valid JSON/);
    d = fresh();
    rmSync(join(d, 'rank-00000.safetensors'));
    await expect(load(d)).rejects.toThrow(/rank-00000\.safetensors \(rank 0's shards\) is missing/);
    d = fresh();
    truncateSync(join(d, 'rank-00000.safetensors'), 1000);
    await expect(load(d)).rejects.toThrow(/rank-00000\.safetensors has 1000 bytes, the manifest says \d+/);
    d = fresh();
    const bytes = readFileSync(join(d, 'rank-00000.safetensors'));
    bytes[bytes.length - 5] ^= 0x40; // one bit of a weight: same size, another checksum
    writeFileSync(join(d, 'rank-00000.safetensors'), bytes);
    await expect(load(d)).rejects.toThrow(/rank-00000\.safetensors is damaged: \d+ bytes with SHA-256 [0-9a-f]{12}…, the manifest says/);
    // through the run directory, a manifest changed after the commit
    const r = mkdtempSync(join(tmpdir(), 'falcon-dcp1-run-'));
    cpSync(run, r, { recursive: true });
    const lj = join(r, latest.checkpoint, 'layout.json');
    writeFileSync(lj, readFileSync(lj, 'utf8').replace('"step": 3', '"step": 4'));
    await expect(load(r)).rejects.toThrow(/layout\.json does not match the digest in .*latest\.json/);
    // a single-process checkpoint, another config, a weight it lacks, another shape
    await expect(load(FIXTURE)).rejects.toThrow(/layout\.json is missing/);
    const other = new FalconH1ForCausalLM(CONFIG);
    await expect(loadDistributedCheckpoint(run, { plan, config: other.config })).rejects.toThrow(/was saved from another model: its config\.json differs/);
    await expect(loadDistributedCheckpoint(run, { plan: { 'model.nope.weight': replicated([2]) } })).rejects.toThrow(/has no parameter model\.nope\.weight/);
    await expect(loadDistributedCheckpoint(run, { plan: { 'model.final_layernorm.weight': replicated([65]) } })).rejects.toThrow(/model\.final_layernorm\.weight: the checkpoint .* holds it with shape \[64\], the target expects \[65\]/);
    other.dispose();
  });

  it('refuses to save parts that do not fit, committing nothing', async () => {
    const before = await readLatest(run);
    const weights = model.stateDict();
    const plan = modelPlan(model);
    const w = 'model.final_layernorm.weight';
    await expect(saveDistributedCheckpoint(run, { step: 9, plan, weights: { ...weights, [w]: tf.zeros([3]) }, state: state(9), config: model.config, sizes: {} })).rejects.toThrow(
      /not saved \(checks\): rank 0: model\.final_layernorm\.weight has shape \[3\], its spec gives \[64\]/,
    );
    // half of a tensor in the plan of the only rank: no rank saves the rest
    const half = { ...plan, [w]: { shape: [64], axis: 0, ranges: [[0, 32]] as Array<[number, number]> } };
    await expect(saveDistributedCheckpoint(run, { step: 9, plan: half, weights: { ...weights, [w]: tf.zeros([32]) }, state: state(9), config: model.config, sizes: {} })).rejects.toThrow(
      /not saved \(writing the manifest\): rank 0: [\s\S]*re-sharding model\.final_layernorm\.weight: no source holds elements \[32:64\]/,
    );
    await expect(saveDistributedCheckpoint(run, { step: 9, plan, weights, state: state(9), config: model.config, sizes: { tp: 2 } })).rejects.toThrow(/sizes tp 2 × cp 1 × pp 1 × dp 0\.5 are not the group's 1 ranks/);
    expect(await readLatest(run)).toEqual(before);
    // and leaves no temporary directory behind
    expect(readdirSync(run).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

describe('packed ternary weights', () => {
  it('are saved from the int32 words the kernels read, and load packed or unpacked, cut another way', async () => {
    const values = Array.from({ length: 7 * 5 }, (_, i) => ((i * 5) % 3) - 1);
    const spec = { ...replicated([7, 5]), encoding: 'ternary2' as const };
    const dir = mkdtempSync(join(tmpdir(), 'falcon-dcp1-ternary-'));
    const words = packedWeightTensor(packTernary(values, 7, 5));
    await saveDistributedCheckpoint(dir, { step: 1, plan: { w: spec }, weights: { w: words }, state: state(1), config: model.config, sizes: {} });
    const rows = { shape: [7, 5], axis: 0, ranges: [[2, 7]] as Array<[number, number]> };
    const got = await loadDistributedCheckpoint(dir, { plan: { w: rows } });
    expect(Array.from(await got.weights.w.data())).toEqual(values.slice(10));
    const packed = await loadDistributedCheckpoint(dir, { plan: { w: { ...rows, encoding: 'ternary2' } } });
    expect(Array.from(await packed.weights.w.data())).toEqual(Array.from(packedWeightTensor(packTernary(values.slice(10), 5, 5)).dataSync()));
    // words of the wrong size are refused before anything is written
    await expect(saveDistributedCheckpoint(dir, { step: 2, plan: { w: spec }, weights: { w: tf.zeros([4], 'int32') }, state: state(2), config: model.config, sizes: {} })).rejects.toThrow(
      /not saved \(checks\): rank 0: w: a packed tensor must be the int32 words of 10 bytes \(3 words\), got int32 \[4\]/,
    );
    expect((await readLatest(dir))?.step).toBe(1);
  });
});

describe('falcon export', () => {
  it('writes a Hugging Face checkpoint that fromPretrained loads with equal logits, under the fixture names and config', async () => {
    const out = mkdtempSync(join(tmpdir(), 'falcon-export-'));
    const lines: string[] = [];
    expect(await main(['export', '--from', run, '--out', out, '--json'], (s) => lines.push(s))).toBe(0);
    const summary = JSON.parse(lines.at(-1)!) as { step: number; tensors: number; dtype: string };
    expect(summary).toMatchObject({ step: 3, dtype: 'float32', tensors: model.stateDictShapes().size });
    const back = await FalconH1ForCausalLM.fromPretrained(out);
    expect(Array.from(await logitsOf(back))).toEqual(Array.from(logits));
    back.dispose();
    // the fixture's (transformers') tensor names and shapes, and its config's fields
    const [mine, theirs] = await Promise.all([openSafetensors(join(out, 'model.safetensors')), openSafetensors(join(FIXTURE, 'model.safetensors'))]);
    expect(new Map([...mine.shapes()].sort())).toEqual(new Map([...theirs.shapes()].sort()));
    await Promise.all([mine.close(), theirs.close()]);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    const ref = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')) as Record<string, unknown>;
    for (const k of ['model_type', 'architectures', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'mamba_n_heads', 'mamba_d_ssm', 'mamba_d_state', 'ssm_multipliers', 'mlp_multipliers', 'vocab_size', 'tie_word_embeddings', 'rope_parameters']) {
      expect(cfg[k], k).toEqual(ref[k]);
    }
    expect(hybridConfig(readFileSync(join(out, 'config.json'), 'utf8')).base).toEqual(model.config.base);
  });

  it('writes bfloat16 with --dtype bfloat16, and refuses bad options', async () => {
    const out = mkdtempSync(join(tmpdir(), 'falcon-export-bf16-'));
    const lines: string[] = [];
    expect(await main(['export', '--from', run, '--out', out, '--dtype', 'bfloat16'], (s) => lines.push(s))).toBe(0);
    expect(lines.at(-1)).toMatch(/exported step 3 \(saved under tp 1 × cp 1 × pp 1 × dp 1\) → .*: \d+ tensors, bfloat16/);
    const r = await openSafetensors(join(out, 'model.safetensors'));
    expect(r.info('lm_head.weight').dtype).toBe('BF16');
    await r.close();
    const back = await FalconH1ForCausalLM.fromPretrained(out);
    const got = await logitsOf(back);
    // bf16 weights (8 bits of mantissa, 2⁻⁹ relative per weight) through 2 layers: the logits move
    // by a few percent of their scale at most
    const scale = Math.max(...logits.map(Math.abs));
    expect(Math.max(...got.map((v, i) => Math.abs(v - logits[i]))) / scale).toBeLessThan(0.05);
    back.dispose();
    const errs: string[] = [];
    expect(await main(['export', '--from', run], () => undefined, (s) => errs.push(s))).toBe(2);
    expect(await main(['export', '--from', run, '--out', out, '--dtype', 'float16'], () => undefined, (s) => errs.push(s))).toBe(2);
    expect(await main(['export', '--from', FIXTURE, '--out', out], () => undefined, (s) => errs.push(s))).toBe(1);
    expect(errs).toEqual([
      "falcon export: --from DIR and --out DIR are required (see 'falcon export --help')",
      "falcon export: --dtype must be float32 or bfloat16, got 'float16' (see 'falcon export --help')",
      expect.stringMatching(/^falcon export: .*falcon-h1-tiny\/? is not a complete distributed checkpoint: layout\.json is missing/),
    ]);
    await expect(exportHuggingFace(run, out, { dtype: 'int8' as 'float32' })).rejects.toThrow(/dtype must be float32 or bfloat16/);
  });
});

describe('resume from a distributed checkpoint', () => {
  class OpenTrainer extends Trainer {
    get opt(): TrainerOptimizer {
      return this.optimizer;
    }
  }

  it('a run stopped after 3 steps and restored gives the losses of an uninterrupted run, bit for bit', async () => {
    const options = { ...OPTIONS, steps: 6 };
    const whole = new Trainer(new FalconH1ForCausalLM(CONFIG, 1), batches(), options, '/nonexistent');
    const want: number[] = [];
    for (let s = 0; s < 6; s++) want.push((await whole.trainStep()).loss);

    const first = new OpenTrainer(new FalconH1ForCausalLM(CONFIG, 1), batches(), options, '/nonexistent');
    for (let s = 0; s < 3; s++) expect((await first.trainStep()).loss).toBe(want[s]);
    const dir = mkdtempSync(join(tmpdir(), 'falcon-dcp1-resume-'));
    const st = first.opt.state();
    const data = batches();
    const saved: DistributedTrainerState = {
      step: first.step,
      optimizerStep: st.step,
      options: { ...options },
      data: { seed: data.seed, batchSize: data.batchSize, seqlen: data.seqlen, tokens: data.tokens.length, sha256: sha256(data.tokens) },
    };
    const optimizer = optimizerStateToHf(first.model, st.tensors);
    await saveDistributedCheckpoint(dir, { step: first.step, plan: modelPlan(first.model), weights: first.model.stateDict(), optimizer, state: saved, config: first.model.config, sizes: {} });

    // another initialisation, overwritten by the restore
    const second = new OpenTrainer(new FalconH1ForCausalLM(CONFIG, 5), batches(), options, '/nonexistent');
    const ckpt = await restoreFromDistributed(dir, second.model, second.opt);
    second.step = ckpt.state.step;
    const got: number[] = [];
    for (let s = 3; s < 6; s++) got.push((await second.trainStep()).loss);
    // the same float32 operations on the same numbers
    expect(got).toEqual(want.slice(3));
    const vars = second.model.variables();
    for (const [k, v] of Object.entries(whole.model.variables())) expect(Array.from(vars[k].dataSync()), k).toEqual(Array.from(v.dataSync()));
    tf.dispose(Object.values(optimizer).filter((t: Tensor) => !Object.values(st.tensors).includes(t)));
  });
});
