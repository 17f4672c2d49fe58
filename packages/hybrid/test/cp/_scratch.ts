import { tf } from '@falcon/tensor';
import type { ProcessGroup } from '@falcon/parallel';
import { FalconH1ForCausalLM, contextParallelValueAndGrads } from '../../src/index.js';
import { cpBatch, cpConfig } from './setup.js';
const g = { rank: 0, size: 1, ranks: [0], globalRank: 0, name: 'fake' } as unknown as ProcessGroup;
for (const [ng, bit, seq, mode] of [[1, false, 12, 'state-passing'], [2, false, 12, 'state-passing'], [2, true, 10, 'state-passing'], [1, false, 12, 'all-to-all'], [2, false, 6, 'state-passing']] as const) {
  const model = new FalconH1ForCausalLM(cpConfig(ng, bit), 5);
  const { ids, labels } = cpBatch(2, seq, 37);
  const ref = model.valueAndVariableGrads(ids, { labels });
  const cp = await contextParallelValueAndGrads(model, ids, { group: g, labels, mambaMode: mode });
  let worst = 0; let wk = '';
  for (const [k, gr] of Object.entries(ref.grads)) {
    const a = cp.grads[k].dataSync(); const b = gr.dataSync();
    let d = 0, s = 1e-6; for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(b[i])); }
    if (d / s > worst) { worst = d / s; wk = k; }
  }
  console.log(ng, bit, seq, mode, 'loss', ref.loss.dataSync()[0], cp.loss.dataSync()[0], 'worst grad rel', worst, wk);
}
