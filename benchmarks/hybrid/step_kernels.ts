// tfjs kernels dispatched (and synchronous host reads) per optimizer step and per training step, on
// the cpu backend, before and after the fused path (issue 13): "before" is the path the trainer took
// until then — the loss from the full [batch, seqlen, vocab] logits (causalLmLoss), clipByGlobalNorm
// reading the norm back to the host and scaling every gradient, AdamW as a dozen tfjs ops per
// parameter — and "after" is Trainer.dispatchStep: the chunked loss (lmHeadCrossEntropy),
// globalNormClip on the device and one fused adamwStep per parameter.
// Run: npx tsx benchmarks/hybrid/step_kernels.ts   (writes results/hybrid-step-kernels.{json,md})
//
// The model has the parameter list of Falcon-H1-0.5B (36 layers, untied lm_head, no biases: the
// config of tools/device/model-cuda.ts) with narrow widths, so that a step fits on a CPU: the
// optimizer's kernel count depends only on the number of parameters, so it is the 0.5B count; the
// forward/backward count also depends on the sequence (SSD chunks, loss chunks) and is given at
// batch 1 × seqlen 64.
import { execSync } from 'node:child_process';
import { AdamW, clipByGlobalNorm, FalconH1ForCausalLM, globalNormClip, hybridConfig, TokenBatches, Trainer } from '@falcon/hybrid';
import { adamwStepReference, initBackend, tf } from '@falcon/tensor';
import type { Tensor, Variable } from '@falcon/tensor';
import { time, writeResults } from '../lib/report.js';
import type { Row } from '../lib/report.js';

await initBackend('cpu');
const LAYERS = 36;
const config = hybridConfig({
  model_type: 'falcon_h1', vocab_size: 512, hidden_size: 64, intermediate_size: 128, num_hidden_layers: LAYERS,
  num_attention_heads: 8, num_key_value_heads: 2, head_dim: 8, mamba_d_ssm: 96, mamba_n_heads: 24, mamba_d_head: 4,
  mamba_n_groups: 1, mamba_d_state: 8, mamba_d_conv: 4, mamba_chunk_size: 16, mamba_rms_norm: false,
  mamba_norm_before_gate: false, tie_word_embeddings: false, initializer_range: 0.02,
});
const [BATCH, SEQLEN] = [1, 64];
const [B1, B2, EPS, WD, LR, CLIP] = [0.9, 0.95, 1e-8, 0.1, 1e-4, 1];

/** Kernel names dispatched by `f` (tf.profile returns one shared object: copied at once). */
async function kernelsOf(f: () => void): Promise<string[]> {
  return (await tf.profile(f)).kernels.map((k) => k.name);
}

/** Synchronous reads of tensor values made by `f` (dataSync / arraySync / bufferSync). */
function syncReadsOf(f: () => void): number {
  const proto = tf.Tensor.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const saved = Object.fromEntries(['dataSync', 'arraySync', 'bufferSync'].map((k) => [k, proto[k]]));
  let n = 0;
  for (const [k, fn] of Object.entries(saved)) {
    proto[k] = function (this: Tensor, ...a: unknown[]) {
      n++;
      return fn.apply(this, a);
    };
  }
  try {
    f();
  } finally {
    Object.assign(proto, saved);
  }
  return n;
}

/** The trainer's optimizer step before the fused path: clip on the host, then AdamW as tfjs ops. */
class LegacyOptimizer {
  private readonly m: Record<string, Variable> = {};
  private readonly v: Record<string, Variable> = {};
  private t = 0;
  constructor(private readonly params: Record<string, Variable>) {
    for (const [k, p] of Object.entries(params)) {
      this.m[k] = tf.variable(tf.zerosLike(p), false);
      this.v[k] = tf.variable(tf.zerosLike(p), false);
    }
  }
  step(grads: Record<string, Tensor>): void {
    const c = clipByGlobalNorm(grads, CLIP);
    this.t++;
    tf.tidy(() => {
      for (const [k, p] of Object.entries(this.params)) {
        // adamwStepReference is the tfjs-ops form the AdamW class ran (same ops, same order)
        const r = adamwStepReference(p, c.grads[k], this.m[k], this.v[k], { lr: LR, beta1: B1, beta2: B2, eps: EPS, weightDecay: p.rank <= 1 ? 0 : WD, step: this.t });
        this.m[k].assign(r.m);
        this.v[k].assign(r.v);
        p.assign(r.param);
      }
    });
    tf.dispose(Object.values(c.grads));
  }
}

const model = new FalconH1ForCausalLM(config, 0);
const vars = model.variables();
const P = Object.keys(vars).length;
const tokens = Int32Array.from({ length: BATCH * SEQLEN * 8 + 1 }, (_, i) => (i * 7919 + 13) % 512);
const data = new TokenBatches(tokens, BATCH, SEQLEN, 0);
const { inputIds } = data.batch(0);

// --- the optimizer step alone (gradients given) ---
const grads = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, tf.randomNormal(v.shape, 0, 1e-2, 'float32', 1)]));
const legacy = new LegacyOptimizer(vars);
const fused = new AdamW(vars, { betas: [B1, B2], eps: EPS, weightDecay: WD, groups: (n) => ({ weightDecayMultiplier: vars[n].rank <= 1 ? 0 : 1 }) });
const fusedStep = () => {
  const { norm, scale } = globalNormClip(grads, CLIP);
  fused.step(grads, LR, scale);
  tf.dispose([norm, scale]);
};
const optBefore = await kernelsOf(() => legacy.step(grads));
const optAfter = await kernelsOf(fusedStep);
const optReadsBefore = syncReadsOf(() => legacy.step(grads));
const optReadsAfter = syncReadsOf(fusedStep);
const optMsBefore = await time(() => legacy.step(grads), { warmup: 1, iters: 5 });
const optMsAfter = await time(fusedStep, { warmup: 1, iters: 5 });

// --- a whole training step (forward, backward, optimizer) ---
const legacyTrainStep = () => {
  const { value, grads: g } = tf.variableGrads(() => model.forward(inputIds, { labels: inputIds }).loss!, Object.values(vars));
  value.dataSync(); // the trainer read each microbatch's loss
  const named = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, g[v.name]]));
  legacy.step(named);
  tf.dispose([value, ...Object.values(g)]);
};
const trainer = new Trainer(model, data, { steps: 1000, lr: LR, clip: CLIP }, '/tmp/falcon-step-kernels');
const fusedTrainStep = () => {
  const p = trainer.dispatchStep();
  tf.dispose([p.loss, p.gradNorm]);
};
const stepBefore = await kernelsOf(legacyTrainStep);
const stepAfter = await kernelsOf(fusedTrainStep);
const stepReadsBefore = syncReadsOf(legacyTrainStep);
const stepReadsAfter = syncReadsOf(fusedTrainStep);

const count = (ks: string[], name: string) => ks.filter((k) => k === name).length;
const rows: Row[] = [
  { what: 'optimizer step (clip + AdamW)', path: 'before', kernels: optBefore.length, 'kernels / parameter': +(optBefore.length / P).toFixed(2), 'sync host reads': optReadsBefore, 'cpu ms (median of 5)': +optMsBefore.medianMs.toFixed(1) },
  { what: 'optimizer step (clip + AdamW)', path: 'after', kernels: optAfter.length, 'kernels / parameter': +(optAfter.length / P).toFixed(2), 'sync host reads': optReadsAfter, 'cpu ms (median of 5)': +optMsAfter.medianMs.toFixed(1) },
  { what: `training step (b${BATCH} × l${SEQLEN})`, path: 'before', kernels: stepBefore.length, 'kernels / parameter': +(stepBefore.length / P).toFixed(2), 'sync host reads': stepReadsBefore, 'cpu ms (median of 5)': '-' },
  { what: `training step (b${BATCH} × l${SEQLEN})`, path: 'after', kernels: stepAfter.length, 'kernels / parameter': +(stepAfter.length / P).toFixed(2), 'sync host reads': stepReadsAfter, 'cpu ms (median of 5)': '-' },
];
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  if (execSync("git status --porcelain -- ':/' ':(top,exclude)benchmarks/results'", { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()) commit += ' + uncommitted changes';
} catch {
  // not a git checkout
}
writeResults('hybrid-step-kernels', `tfjs kernels per optimizer step and per training step, before/after the fused path (cpu backend, Falcon-H1-0.5B parameter list: ${LAYERS} layers, ${P} parameters)`, rows, {
  commit,
  command: 'npx tsx benchmarks/hybrid/step_kernels.ts',
  model: `Falcon-H1-0.5B's ${P} parameters (names and ranks of tools/device/model-cuda.ts's config) with narrow widths (hidden 64, vocab 512); kernel counts do not depend on the widths`,
  'sync host reads': 'dataSync/arraySync/bufferSync calls; the "after" training step\'s remaining read is model.forward\'s check of the int32 input ids, which model.ts makes on the cpu backend only (on GPU backends the ids are checked on the device)',
  'optimizer kernels after': `Square + Sum per parameter (the norm), ${count(optAfter, 'FalconAdamwStep')} FalconAdamwStep, and ${optAfter.length - 2 * P - count(optAfter, 'FalconAdamwStep')} for the norm and clip coefficient`,
  'loss kernels': `before: the logits path (matMul of all tokens, logSumExp, gather); after: lmHeadCrossEntropy (${count(stepAfter, 'BatchMatMul') - count(stepBefore, 'BatchMatMul')} more BatchMatMul: each loss chunk's logits recomputed in the backward)`,
});
