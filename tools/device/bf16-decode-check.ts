// Device check of the real Falcon-H1-0.5B config in bf16 (packages/hybrid/test/fixtures/falcon-h1-0.5b/
// config.json): writes random BF16 weights (writeRandomPretrained, streamed), loads them with
// fromPretrained on the backend, greedy-generates a few tokens, and reports the weights' bytes
// against the process's peak RSS during the load and the backend's bytes in use (and allocator peak
// on cuda) after it: what "no float32 blow-up" looks like today. Writes <out>/bf16-check.json.
// Run from the repository root: node .device/bf16-check.mjs [--backend cuda] [--layers 36] [--new 16] [--out DIR] [--dir /tmp/falcon-05b-bf16]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, tf } from '@falcon/tensor';
import type { BackendName, Tensor2D } from '@falcon/tensor';
import { FalconH1ForCausalLM, writeRandomPretrained } from '@falcon/hybrid';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const backend = arg('backend', 'cuda') as BackendName;
const layers = Number(arg('layers', '36'));
const newTokens = Number(arg('new', '16'));
const outDir = arg('out', process.env.OUT ?? '/tmp/falcon-out');
const dir = arg('dir', '/tmp/falcon-05b-bf16');
const MiB = 2 ** 20;

const fixture = JSON.parse(readFileSync('packages/hybrid/test/fixtures/falcon-h1-0.5b/config.json', 'utf8')) as Record<string, unknown>;
const t0 = performance.now();
const weightBytes = await writeRandomPretrained(dir, { ...fixture, num_hidden_layers: layers }, { seed: 0 });
const writeS = (performance.now() - t0) / 1000;
await initBackend(backend);
const cuda = backend === 'cuda' ? (tf.backend() as unknown as { memory(): { bytesInUse: number; peakBytesInUse: number }; resetPeakMemory(): void }) : undefined;
cuda?.resetPeakMemory();
const rss0 = process.memoryUsage().rss;
let peakRss = rss0;
const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
const t1 = performance.now();
const model = await FalconH1ForCausalLM.fromPretrained(dir);
const loadS = (performance.now() - t1) / 1000;
clearInterval(timer);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
const afterLoad = { tfjsMiB: tf.memory().numBytes / MiB, deviceInUseMiB: cuda ? cuda.memory().bytesInUse / MiB : null, devicePeakMiB: cuda ? cuda.memory().peakBytesInUse / MiB : null };
const ids = tf.tensor2d([[1, 4021, 77, 32783, 9, 1200, 5, 640]], [1, 8], 'int32') as Tensor2D;
const t2 = performance.now();
const out = await model.generate(ids, { maxNewTokens: newTokens, eosTokenId: null });
const genS = (performance.now() - t2) / 1000;
const tokens = ((await out.array()) as number[][])[0].slice(8);
const result = {
  date: new Date().toISOString(),
  backend,
  layers,
  weightsBf16MiB: weightBytes / MiB,
  writeS,
  loadS,
  processPeakRssDuringLoadMiB: (peakRss - rss0) / MiB,
  rssOverBf16Bytes: (peakRss - rss0) / weightBytes,
  ...afterLoad,
  deviceOverBf16Bytes: cuda ? (afterLoad.deviceInUseMiB! * MiB) / weightBytes : null,
  generated: tokens,
  generateS: genS,
  tokensInVocab: tokens.every((t) => Number.isInteger(t) && t >= 0 && t < 32784),
};
console.log(JSON.stringify(result, null, 1));
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'bf16-check.json'), JSON.stringify(result, null, 1) + '\n');
tf.dispose([ids, out]);
model.dispose();
