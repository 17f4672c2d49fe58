// Forward and training-step throughput and peak tensor memory of the `falcon train` preset on the
// cpu backend, with each recomputation policy. Run: npx tsx benchmarks/hybrid/preset.ts [preset]
// Peak memory is tfjs's profile peakBytes (bytes held by tensors), not the process RSS.
import { FalconH1ForCausalLM, hybridConfig, PRESETS, TokenBatches, ByteTokenizer } from '@falcon/hybrid';
import type { RecomputePolicy } from '@falcon/hybrid';
import { initBackend, tf } from '@falcon/tensor';
import { readFileSync } from 'node:fs';
import { time, writeResults } from '../lib/report.js';
import type { Row } from '../lib/report.js';

const preset = process.argv[2] ?? 'tiny';
await initBackend('cpu');
const config = hybridConfig(PRESETS[preset]);
const model = new FalconH1ForCausalLM(config, 0);
const params = Object.values(model.variables()).reduce((n, v) => n + v.size, 0);
const text = readFileSync(new URL('../../packages/hybrid/data/corpus.txt', import.meta.url), 'utf8');
const tokens = Int32Array.from(new ByteTokenizer().encode(text));
const [batch, seqlen] = [8, 64];
const data = new TokenBatches(tokens, batch, seqlen, 0);
const { inputIds } = data.batch(0);
const n = batch * seqlen;
const rows: Row[] = [];

const fwd = await time(() => tf.tidy(() => model.forward(inputIds).logits.dataSync()), { warmup: 1, iters: 5 });
const fwdMem = await tf.profile(() => model.forward(inputIds).logits);
rows.push({ run: 'forward', recompute: '-', ms: +fwd.medianMs.toFixed(1), 'tokens/s': Math.round(n / (fwd.medianMs / 1000)), 'peak MiB': +(fwdMem.peakBytes / 2 ** 20).toFixed(1) });
for (const policy of ['none', 'attention', 'mamba', 'both'] as RecomputePolicy[]) {
  const step = () => {
    const r = model.valueAndVariableGrads(inputIds, { recompute: policy });
    r.loss.dataSync();
    tf.dispose([r.loss, ...Object.values(r.grads)]);
  };
  const t = await time(step, { warmup: 1, iters: 3 });
  const mem = await tf.profile(() => {
    const r = model.valueAndVariableGrads(inputIds, { recompute: policy });
    tf.dispose(Object.values(r.grads));
    return r.loss;
  });
  rows.push({ run: 'forward+backward', recompute: policy, ms: +t.medianMs.toFixed(1), 'tokens/s': Math.round(n / (t.medianMs / 1000)), 'peak MiB': +(mem.peakBytes / 2 ** 20).toFixed(1) });
}
writeResults(`hybrid-${preset}-cpu`, `Falcon-H1 '${preset}' preset on the cpu backend (batch ${batch} × seqlen ${seqlen})`, rows, {
  parameters: params,
  floor: `6·params·tokens = ${(6 * params * n / 1e9).toFixed(2)} GFLOP per training step (matmul FLOPs only, attention/SSD extra)`,
});
