// tfjs kernels dispatched per cached decode step (issue 17: at ~10 µs of host time per kernel, the
// kernel count bounds the decode speed of batch 1), on the cpu backend, split by where they run:
// the embedding, each layer's attention (q/k/v, RoPE, KV cache write, decode attention), its
// Mamba-2 step (in_proj, conv update, selective state update, gated norm), the rest of the layer
// (input norm, μP multipliers, shared output projection, MLP, residuals), and the final norm,
// lm_head and greedy token choice. The step is generateStream's loop body: reshape the tokens,
// model.step, sampleTokens, advance the positions.
// Run: npx tsx benchmarks/hybrid/decode_kernels.ts [--out <name>]   (writes results/<name>.{json,md}; a name with a / is a path)
import { execSync } from 'node:child_process';
import { basename, dirname } from 'node:path';
import { FalconH1ForCausalLM, hybridConfig, PRESETS, prefillPrompt, sampleTokens } from '@falcon/hybrid';
import type { HybridConfig, LayerCache } from '@falcon/hybrid';
import { initBackend, recordKernels, tf } from '@falcon/tensor';
import type { Tensor1D, Tensor2D } from '@falcon/tensor';
import { RESULTS_DIR, writeResults } from '../lib/report.js';
import type { Row } from '../lib/report.js';
import { modelShape } from '../lib/model_shapes.js';

await initBackend('cpu');
const outName = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : 'decode-kernels-cpu';
const ALL_BITNET = { attention: true, mamba: true, mlp: true, outProj: true };

/** Kernels of one cached step after a 5-token prompt, by part. */
async function stepKernels(config: HybridConfig, packed: boolean): Promise<{ total: number; parts: Record<string, number>; names: string[] }> {
  const model = new FalconH1ForCausalLM(config, 0);
  if (packed) await model.packTernary();
  const batch = 1;
  const prompt = tf.tensor2d([[3, 5, 7, 9, 11]], [1, 5], 'int32');
  const { logits, caches } = prefillPrompt(model, prompt, 16);
  let tokens = sampleTokens(logits, {});
  let pos = tf.tensor2d([[5]], [1, 1], 'int32');
  const parts: Record<string, number> = {};
  const add = (k: string, n: number) => (parts[k] = (parts[k] ?? 0) + n);
  let mark = () => 0;
  // count each section by the kernel count at entry and exit (attention and Mamba-2 are nested in the layer)
  const wrap = <O extends object>(obj: O, method: keyof O, label: string, unwraps: (() => void)[]) => {
    const f = obj[method] as unknown as (...a: unknown[]) => unknown;
    (obj as Record<string, unknown>)[method as string] = (...a: unknown[]) => {
      const n0 = mark();
      try {
        return f.apply(obj, a);
      } finally {
        add(label, mark() - n0);
      }
    };
    unwraps.push(() => delete (obj as Record<string, unknown>)[method as string]);
  };
  const unwraps: (() => void)[] = [];
  for (const layer of model.layers) {
    wrap(layer, 'forward', 'layer (all)', unwraps);
    if (layer.attention) wrap(layer.attention, 'stepPreProjection', 'attention step', unwraps);
    if (layer.mamba) wrap(layer.mamba, 'stepPreProjection', 'mamba2 step', unwraps);
  }
  const step = (caches: LayerCache[]) => {
    const ids = tf.reshape(tokens, [batch, 1]) as Tensor2D;
    const l = model.step(ids, pos, caches);
    const next = tf.tidy(() => sampleTokens(l, {})) as Tensor1D;
    const p = tf.tidy(() => tf.add(pos, tf.scalar(1, 'int32'))) as Tensor2D;
    tf.dispose([ids, l, tokens, pos]);
    tokens = next;
    pos = p;
  };
  step(caches); // warm-up (first-call caches)
  for (const k of Object.keys(parts)) delete parts[k];
  const { kernels } = recordKernels((m) => {
    mark = m;
    step(caches);
  });
  unwraps.forEach((u) => u());
  tf.dispose([logits, prompt, tokens, pos]);
  for (const c of caches) {
    c.kv?.dispose();
    if (c.mamba) tf.dispose([c.mamba.convState, c.mamba.ssmState]);
  }
  model.dispose();
  const layers = config.layers.length;
  const out: Record<string, number> = {
    'attention / layer': (parts['attention step'] ?? 0) / layers,
    'mamba2 / layer': (parts['mamba2 step'] ?? 0) / layers,
    'rest of layer / layer': ((parts['layer (all)'] ?? 0) - (parts['attention step'] ?? 0) - (parts['mamba2 step'] ?? 0)) / layers,
    'outside the layers': kernels.length - (parts['layer (all)'] ?? 0),
  };
  return { total: kernels.length, parts: out, names: kernels };
}

const shape = modelShape('0.5b', 2);
// μP multipliers as a trained Falcon-H1 has them (none is 1; the values do not change the count, only
// whether a multiplier is exactly 1 does: a ×1 is skipped)
const MUP = {
  attention_in_multiplier: 0.7, attention_out_multiplier: 1.3, ssm_out_multiplier: 0.45, ssm_in_multiplier: 1.1,
  embedding_multiplier: 2.5, lm_head_multiplier: 0.3, mlp_multipliers: [0.8, 1.7], key_multiplier: 0.6, ssm_multipliers: [1.1, 0.9, 1.2, 0.8, 1.05],
};
const cases: [string, HybridConfig, boolean][] = [
  ['0.5b shape, 2 layers', hybridConfig(shape.config), false],
  ['0.5b shape, 2 layers, μP multipliers ≠ 1', hybridConfig({ ...shape.config, ...MUP }), false],
  ['0.5b shape, 2 layers, μP ≠ 1, BitNet packed', hybridConfig({ ...shape.config, ...MUP }, { bitnet: ALL_BITNET }), true],
  ['0.5b shape, 2 layers, BitNet packed', hybridConfig(shape.config, { bitnet: ALL_BITNET }), true],
  ['tiny preset', hybridConfig(PRESETS.tiny), false],
];
const rows: Row[] = [];
const histograms: Record<string, Record<string, number>> = {};
for (const [name, config, packed] of cases) {
  const r = await stepKernels(config, packed);
  const perLayer = r.parts['attention / layer'] + r.parts['mamba2 / layer'] + r.parts['rest of layer / layer'];
  rows.push({ model: name, 'kernels / step': r.total, 'kernels / layer': perLayer, ...r.parts, 'at 36 layers': Math.round(r.parts['outside the layers'] + 36 * perLayer) });
  histograms[name] = Object.fromEntries(Object.entries(r.names.reduce<Record<string, number>>((h, k) => ((h[k] = (h[k] ?? 0) + 1), h), {})).sort((a, b) => b[1] - a[1]));
}
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  if (execSync("git status --porcelain -- ':/' ':(top,exclude)benchmarks/results'", { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()) commit += ' + uncommitted changes';
} catch {
  // not a git checkout
}
writeResults(basename(outName), 'tfjs kernels per cached decode step (batch 1, greedy, cpu backend)', rows, {
  commit,
  command: `npx tsx benchmarks/hybrid/decode_kernels.ts --out ${outName}`,
  counted: 'registered kernels dispatched by the tfjs engine (recordKernels of @falcon/tensor) during one step of generateStream: reshape of the tokens, model.step, sampleTokens (greedy argMax), positions + 1; after a warm-up step',
  'at 36 layers': 'outside-the-layers + 36 × per-layer: the count of the 36-layer model',
  kernels: histograms,
}, outName.includes('/') ? dirname(outName) : RESULTS_DIR);
