// A tensor-parallel test worker (started by launch(): RANK, WORLD_SIZE, ... set). For every case
// of its world size it builds the full model from a seed (the same in every process), computes the
// one-rank loss and gradients, shards the model over the world as one TP group, computes the TP
// loss and gradients, un-shards those by the plan and compares; prints `RESULT {json}`.
import { destroyProcessGroup, initProcessGroup } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor, Tensor2D } from '@falcon/tensor';
import { FalconH1ForCausalLM, TensorParallelFalconH1, routeModel } from '../../src/index.js';
import { BATCH, CASES, GENERATION, SEQLEN } from './cases.js';

const group = await initProcessGroup({ backend: 'gloo', timeoutMs: 60_000 });
const t = group.size;

/** max |a − b| / max |b| (norm-relative: float32 re-association moves small entries most). */
function relErr(a: Tensor, b: Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let d = 0;
  let s = 1e-30;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    s = Math.max(s, Math.abs(y[i]));
  }
  return d / s;
}

const results: Array<{ name: string; loss: number; lossErr: number; worst: [string, number]; grads: number; failures: string[] }> = [];
for (const c of CASES[t] ?? []) {
  const config = c.config();
  const model = new FalconH1ForCausalLM(config, 11);
  const ids = tf.tensor2d(Array.from({ length: BATCH * SEQLEN }, (_, i) => (i * 7 + 3 + Math.floor(i / 5)) % config.base.vocab_size), [BATCH, SEQLEN], 'int32') as Tensor2D;
  const mask = c.mask ? (tf.tensor2d(Array.from({ length: BATCH * SEQLEN }, (_, i) => (i < 3 ? 0 : 1)), [BATCH, SEQLEN], 'float32') as Tensor2D) : undefined;
  const labels = c.mask ? (tf.tensor2d(Array.from(ids.dataSync()).map((v, i) => (i < 3 ? -100 : v)), [BATCH, SEQLEN], 'int32') as Tensor2D) : ids;
  const ref = model.valueAndGrads(ids, { labels, attentionMask: mask });
  const splits = c.splits === 'route' ? routeModel(config, t, { seqlen: SEQLEN, batch: BATCH }) : c.splits;
  const tp = TensorParallelFalconH1.fromModel(model, { group, sequenceParallel: c.sp, splits });
  const { loss, grads } = tp.valueAndGrads(ids, { labels, attentionMask: mask });
  const full = tp.gather(grads);
  const failures: string[] = [];
  // float32 on cpu, different summation orders: ~1e-6 relative is typical; 1e-5 is the contract
  const lossErr = Math.abs(loss.dataSync()[0] - ref.loss.dataSync()[0]) / Math.abs(ref.loss.dataSync()[0]);
  if (!(lossErr <= 1e-5)) failures.push(`loss ${loss.dataSync()[0]} vs ${ref.loss.dataSync()[0]} (rel ${lossErr})`);
  let worst: [string, number] = ['', 0];
  const names = Object.keys(ref.grads);
  for (const name of names) {
    const g = full[name];
    if (!g) {
      failures.push(`no TP gradient for ${name}`);
      continue;
    }
    if (!tf.util.arraysEqual(g.shape, ref.grads[name].shape)) {
      failures.push(`${name}: shape [${g.shape}] vs [${ref.grads[name].shape}]`);
      continue;
    }
    const e = relErr(g, ref.grads[name]);
    if (e > worst[1] || Number.isNaN(e)) worst = [name, e];
    if (!(e <= 1e-5)) failures.push(`${name}: relative error ${e}`);
  }
  for (const name of Object.keys(full)) if (!(name in ref.grads)) failures.push(`unexpected TP parameter ${name}`);
  // the global gradient norm (for clipping) from the pieces, each element counted once
  const norm2 = tp.gradSquaredNorm(grads).dataSync()[0];
  const refNorm2 = Object.values(ref.grads).reduce((a, g) => a + tf.sum(tf.square(g)).dataSync()[0], 0);
  if (!(Math.abs(norm2 - refNorm2) <= 1e-5 * refNorm2)) failures.push(`gradSquaredNorm ${norm2} vs ${refNorm2}`);
  results.push({ name: c.name, loss: loss.dataSync()[0], lossErr, worst, grads: names.length, failures });
  tf.dispose([ids, loss, ref.loss, ...Object.values(grads), ...Object.values(full), ...Object.values(ref.grads)]);
  if (mask) tf.dispose([mask, labels]);
  tp.dispose();
  model.dispose();
}
// generation: prefill and cached-step logits equal the one-rank model's, and greedy generate() gives its tokens
for (const c of GENERATION[t] ?? []) {
  const config = c.config();
  const model = new FalconH1ForCausalLM(config, 5);
  const tp = TensorParallelFalconH1.fromModel(model, { group, splits: c.splits });
  const [B, P, NEW] = [2, 5, 4];
  const prompt = tf.tensor2d(Array.from({ length: B * P }, (_, i) => (i * 5 + 2) % config.base.vocab_size), [B, P], 'int32') as Tensor2D;
  const mask = c.mask ? (tf.tensor2d([0, 0, 1, 1, 1, 1, 1, 1, 1, 1], [B, P], 'float32') as Tensor2D) : undefined;
  const failures: string[] = [];
  let worstStep = 0;
  const a = model.prefill(prompt, P + NEW, mask);
  const b = tp.prefill(prompt, P + NEW, mask);
  const check = (what: string, x: Tensor, y: Tensor) => {
    const e = relErr(x, y);
    worstStep = Math.max(worstStep, e);
    // float32, other summation orders (BitNet: the same quantised values): 1e-5 relative
    if (!(e <= 1e-5)) failures.push(`${what}: relative error ${e}`);
  };
  check('prefill logits', b.logits, a.logits);
  const pos0 = mask ? [3, 5] : [P, P];
  for (let s = 0; s < NEW - 1; s++) {
    const ids = tf.tensor2d([(s * 3 + 1) % config.base.vocab_size, (s * 7 + 4) % config.base.vocab_size], [B, 1], 'int32') as Tensor2D;
    const pos = tf.tensor2d(pos0.map((p) => p + s), [B, 1], 'int32') as Tensor2D;
    check(`step ${s} logits`, tp.step(ids, pos, b.caches), model.step(ids, pos, a.caches));
  }
  const want = await model.generate(prompt, { maxNewTokens: NEW, attentionMask: mask, eosTokenId: null });
  const got = await tp.generate(prompt, { maxNewTokens: NEW, attentionMask: mask, eosTokenId: null });
  if (JSON.stringify(got.arraySync()) !== JSON.stringify(want.arraySync())) failures.push(`generate: ${JSON.stringify(got.arraySync())} vs ${JSON.stringify(want.arraySync())}`);
  results.push({ name: c.name, loss: 0, lossErr: 0, worst: ['logits', worstStep], grads: -1, failures });
  tp.dispose();
  model.dispose();
}
console.log(`RESULT ${JSON.stringify({ rank: group.rank, results })}`);
await destroyProcessGroup();
