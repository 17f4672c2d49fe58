// How far apart two float32 training curves of the `tiny` preset drift when every initial weight of
// one is moved by 2^-e relative (random sign): e = 23 is one unit in the last place of float32, e = 9
// bf16's largest rounding error. It tells how much of the bf16 curve's distance from the f32 one
// (tools/device/bf16-checks.ts) a single rounding of the weights to bf16's precision already causes.
// Same batches (seed 0) and settings as that check's curve (batch 8 × 64, lr 3e-3, 200 steps), on cpu.
// Prints per-step and windowed relative differences and writes <out>/curve-sensitivity-e<e>.json.
// Run: npx tsx benchmarks/hybrid/curve_sensitivity.ts [--exp 23] [--steps 200] [--out benchmarks/results]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '@falcon/tensor';
import { ByteTokenizer, FalconH1ForCausalLM, PRESETS, Trainer, TokenBatches, hybridConfig } from '@falcon/hybrid';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const steps = Number(arg('steps', '200'));
const outDir = arg('out', 'benchmarks/results');
const exp = Number(arg('exp', '23'));
const corpus = arg('corpus', 'packages/hybrid/data/corpus.txt');

/** Trains the preset; with `perturb`, every initial weight is first moved by 2^-exp relative (random sign). */
async function curve(perturb: boolean, tokens: Int32Array): Promise<number[]> {
  const model = new FalconH1ForCausalLM(hybridConfig(PRESETS.tiny), 0);
  if (perturb) {
    let seed = 1;
    for (const v of Object.values(model.variables())) {
      tf.tidy(() => v.assign(tf.mul(v, tf.add(1, tf.mul(2 ** -exp, tf.sign(tf.randomNormal(v.shape, 0, 1, 'float32', seed++)))))));
    }
  }
  const trainer = new Trainer(model, new TokenBatches(tokens, 8, 64, 0), { steps, lr: 3e-3 }, `/tmp/falcon-curve-sensitivity-${perturb}`);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push((await trainer.trainStep()).loss);
  trainer.dispose();
  model.dispose();
  return losses;
}

/** Largest relative difference of `w`-step window means. */
function windowed(a: number[], b: number[], w: number): number {
  let worst = 0;
  for (let i = 0; i < a.length; i += w) {
    const m = (xs: number[]) => xs.slice(i, i + w).reduce((s, x) => s + x, 0) / xs.slice(i, i + w).length;
    worst = Math.max(worst, Math.abs(m(b) - m(a)) / m(a));
  }
  return worst;
}

await tf.setBackend('cpu');
const tokens = Int32Array.from(new ByteTokenizer().encode(readFileSync(corpus, 'utf8')));
const base = await curve(false, tokens);
const moved = await curve(true, tokens);
const rel = moved.map((l, i) => Math.abs(l - base[i]) / base[i]);
const worst = Math.max(...rel);
const result = {
  date: new Date().toISOString(),
  backend: 'cpu',
  preset: 'tiny',
  steps,
  batch: 8,
  seqlen: 64,
  lr: 3e-3,
  perturbation: `±2^-${exp} relative on every initial weight (random sign)`,
  f32: base,
  perturbed: moved,
  maxRelDiff: worst,
  worstStep: rel.indexOf(worst) + 1,
  stepsOver2Percent: rel.filter((r) => r > 0.02).length,
  window10MaxRelDiff: windowed(base, moved, 10),
  window20MaxRelDiff: windowed(base, moved, 20),
};
console.log(JSON.stringify({ ...result, f32: undefined, perturbed: undefined }));
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, `curve-sensitivity-e${exp}.json`), JSON.stringify(result, null, 1));
