// Lists the kernels the real FalconH1ForCausalLM of @falcon/hybrid dispatches on the cpu backend
// (forward with loss, valueAndGrads, global-norm clipping, one AdamW step, a few generated tokens)
// on the tiny transformers fixture, and says for each whether the cuda backend has it: tfjs
// built-ins it lacks, and the @falcon ops (defineOp kernels) whose CUDA kernels are still to come.
// Run: node --import tsx tools/device/trace-model.ts [fixture folder, default fixtures/falcon-h1-tiny]
import * as tf from '@tensorflow/tfjs-core';
import { getKernelsForBackend } from '@tensorflow/tfjs-core';
import { AdamW, clipByGlobalNorm, FalconH1ForCausalLM } from '../../packages/hybrid/src/index.js';
import { initBackend } from '../../packages/tensor/src/index.js';
import { cudaKernelNames } from '../../packages/tensor/src/backends/cuda/kernels/index.js';

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
const builtins = new Set(getKernelsForBackend('cpu').map((k) => k.kernelName));
const rows = [...seen.entries()].sort(([a], [b]) => a.localeCompare(b));
const status = (k: string) => (cuda.has(k) ? 'cuda' : builtins.has(k) && !k.startsWith('Falcon') ? 'MISSING (tfjs built-in)' : '@falcon op: cuda kernel to come');
console.log(`${rows.length} kernels`);
for (const [k, v] of rows) console.log(`${k.padEnd(28)} ${status(k).padEnd(32)} ${[...v].join(', ')}`);
