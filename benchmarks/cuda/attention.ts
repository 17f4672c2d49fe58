// Flash attention on the `cuda` backend at training shapes, forward and forward+backward, next to
// PyTorch's scaled_dot_product_attention measured in the same device call by
// tools/device/torch_attention_bench.py ($TORCH_ATTENTION: its JSON). `--precisions f32,bf16` runs
// each shape under each of those settings of the backend's matmulPrecision ('bf16' takes the bf16
// tensor-core kernels; 'tf32' and 'f32' both take the float32 kernel). Each figure is the
// median of 5 CUDA-event timings after a warm-up; TFLOP/s count the causal half of the products
// (forward 4·b·h·l²·d/2, backward 2.5× that). Writes <out>/attention-bench.json.
// Bundled by tools/device/prepare-attention.sh, run by tools/device/run-attention.sh.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, tf } from '@falcon/tensor';
import type { CudaBackend, Tensor } from '@falcon/tensor';
import { randomTensor } from '@falcon/tensor/testing';
import { flashAttention } from '@falcon/attention';

const args = process.argv.slice(2);
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : (process.env.OUT ?? '/tmp/falcon-out');
const precisions = (args.includes('--precisions') ? args[args.indexOf('--precisions') + 1] : 'tf32').split(',') as ('f32' | 'tf32' | 'bf16')[];

/** The measured shapes: [batch, seqlen, heads, kv heads, head dim], all causal. */
export const ATTENTION_SHAPES: [number, number, number, number, number][] = [
  [4, 2048, 8, 2, 64],
  [1, 8192, 8, 2, 64],
  [4, 2048, 16, 4, 128],
  [1, 8192, 16, 4, 128],
];

async function timeMs(f: () => Tensor | Tensor[]): Promise<number> {
  const once = async () => {
    const info = await tf.time(() => tf.dispose(f()));
    return info.kernelMs as number;
  };
  await once();
  const ts = [await once(), await once(), await once(), await once(), await once()].sort((a, b) => a - b);
  return ts[2];
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await initBackend('cuda');
  const cuda = tf.backend() as CudaBackend;
  const torch = process.env.TORCH_ATTENTION && existsSync(process.env.TORCH_ATTENTION) ? (JSON.parse(readFileSync(process.env.TORCH_ATTENTION, 'utf8')) as { rows: Record<string, unknown>[] }) : undefined;
  const rows: Record<string, unknown>[] = [];
  for (const [b, l, h, hk, d] of ATTENTION_SHAPES) {
    const q = randomTensor([b, l, h, d], 1);
    const k = randomTensor([b, l, hk, d], 2);
    const v = randomTensor([b, l, hk, d], 3);
    const dy = randomTensor([b, l, h, d], 4);
    const fwdFlops = (4 * b * h * l * l * d) / 2;
    const shape = `b${b} l${l} h${h}:${hk} d${d} causal`;
    for (const precision of precisions) {
      cuda.matmulPrecision = precision;
      const fwd = await timeMs(() => flashAttention(q, k, v, { causal: true }).out);
      const grad = tf.grads((a: Tensor, bb: Tensor, c: Tensor) => tf.sum(tf.mul(flashAttention(a, bb, c, { causal: true }).out, dy)));
      const fb = await timeMs(() => grad([q, k, v]));
      const row = { shape, precision, forwardMs: fwd, forwardBackwardMs: fb, forwardTflops: fwdFlops / fwd / 1e9, forwardBackwardTflops: (3.5 * fwdFlops) / fb / 1e9 };
      rows.push(row);
      console.log(`${shape} ${precision}: forward ${fwd.toFixed(3)} ms (${row.forwardTflops.toFixed(1)} TFLOP/s), forward+backward ${fb.toFixed(3)} ms (${row.forwardBackwardTflops.toFixed(1)} TFLOP/s)`);
    }
    for (const t of torch?.rows.filter((r) => r.shape === shape) ?? []) console.log(`${shape} torch ${t.dtype}: forward ${(t.forwardMs as number).toFixed(3)} ms, forward+backward ${(t.forwardBackwardMs as number).toFixed(3)} ms`);
    tf.dispose([q, k, v, dy]);
  }
  writeFileSync(join(outDir, 'attention-bench.json'), JSON.stringify({ date: new Date().toISOString(), rows, torch: torch?.rows ?? null }, null, 1));
}

await main();
