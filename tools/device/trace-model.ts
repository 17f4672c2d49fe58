// Lists the kernels the real FalconH1ForCausalLM of @falcon/hybrid dispatches on the cpu backend
// (forward with loss, valueAndGrads, global-norm clipping, one AdamW step, a few generated tokens)
// on the tiny transformers fixture, and says for each whether the cuda backend has it: one of its
// generic kernels, an @falcon op's cuda kernel (registered by defineOp), or neither (MISSING).
// Run: node --import tsx tools/device/trace-model.ts [fixture folder, default fixtures/falcon-h1-tiny]
import * as tf from '@tensorflow/tfjs-core';
import { getKernel } from '@tensorflow/tfjs-core';
import { AdamW, clipByGlobalNorm, FalconH1ForCausalLM } from '@falcon/hybrid';
import { cudaKernelNames, initBackend } from '@falcon/tensor';

const dir = process.argv[2] ?? new URL('../../fixtures/falcon-h1-tiny/', import.meta.url).pathname;
await initBackend('cpu');
const seen = new Map<string, Set<string>>();
let phase = 'load';
const engine = tf.engine() as unknown as { runKernel: (name: string, inputs: unknown, attrs: unknown) => unknown };
const original = engine.runKernel;
engine.runKernel = function (name, inputs, attrs) {
  if (!seen.has(name)) seen.set(name, new Set());
  seen.get(name)!.add(phase);
  return original.call(this, name, inputs, attrs);
};

const model = await FalconH1ForCausalLM.fromPretrained(dir);
const ids = tf.tensor2d([[1, 5, 9, 2, 7, 3, 11, 4, 6]], [1, 9], 'int32') as tf.Tensor2D;
phase = 'forward';
const out = model.forward(ids, { labels: ids });
phase = 'backward';
const { loss, grads } = model.valueAndVariableGrads(ids, { labels: ids });
phase = 'optimizer';
const params = model.variables();
{
  const opt = new AdamW(params);
  const clipped = clipByGlobalNorm(grads, 1.0);
  opt.step(clipped.grads, 1e-3);
}
phase = 'generate';
const gen = await model.generate(ids, { maxNewTokens: 3, eosTokenId: null });
engine.runKernel = original;
tf.dispose([out.logits, out.loss!, loss, ...Object.values(grads), gen, ids]);

const cuda = new Set(cudaKernelNames());
const rows = [...seen.entries()].sort(([a], [b]) => a.localeCompare(b));
const status = (k: string) => (cuda.has(k) ? 'cuda' : getKernel(k, 'cuda') ? 'cuda (@falcon op kernel)' : 'MISSING');
console.log(`${rows.length} kernels`);
for (const [k, v] of rows) console.log(`${k.padEnd(28)} ${status(k).padEnd(32)} ${[...v].join(', ')}`);
