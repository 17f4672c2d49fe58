// Peak tensor memory (tfjs profile peakBytes) and time of the LM loss's forward + backward on the
// cpu backend at Falcon-H1-0.5B's vocabulary (32,784): the logits path (the full [tokens, vocab]
// logits, causalLmLoss's form: linearCrossEntropyReference under autodiff) against the chunked
// linearCrossEntropy at its default chunk (2²⁴ / vocab = 511 rows) and at 128 rows.
// Run: npx tsx benchmarks/hybrid/loss_memory.ts   (writes results/hybrid-loss-memory.{json,md})
// d is 256 instead of 1024 to keep the CPU's products short; the logits, which dominate the
// memory, do not depend on d.
import { execSync } from 'node:child_process';
import { defaultCrossEntropyChunk, initBackend, linearCrossEntropy, linearCrossEntropyReference, tf } from '@falcon/tensor';
import { time, writeResults } from '../lib/report.js';
import type { Row } from '../lib/report.js';

await initBackend('cpu');
const [TOKENS, D, VOCAB] = [2048, 256, 32784];
const x = tf.randomNormal([TOKENS, D], 0, 1, 'float32', 1);
const w = tf.randomNormal([VOCAB, D], 0, 0.05, 'float32', 2);
const labels = tf.randomUniform([TOKENS], 0, VOCAB, 'int32', 3);
const logitsMiB = (TOKENS * VOCAB * 4) / 2 ** 20;

const rows: Row[] = [];
const paths: [string, number | undefined, (a: tf.Tensor, b: tf.Tensor) => tf.Scalar][] = [
  ['full logits (causalLmLoss form)', undefined, (a, b) => linearCrossEntropyReference(a, b, labels)],
  ['linearCrossEntropy, default chunk', defaultCrossEntropyChunk(VOCAB), (a, b) => linearCrossEntropy(a, b, labels)],
  ['linearCrossEntropy, chunk 128', 128, (a, b) => linearCrossEntropy(a, b, labels, { chunkSize: 128 })],
];
for (const [path, chunk, f] of paths) {
  const step = () => tf.dispose(tf.grads(f)([x, w]));
  const before = tf.memory().numBytes;
  const peak = ((await tf.profile(step)).peakBytes - before) / 2 ** 20;
  const t = await time(step, { warmup: 0, iters: 1 });
  rows.push({ path, 'chunk rows': chunk ?? TOKENS, 'peak MiB above inputs': +peak.toFixed(1), 'peak / one logits tensor': +(peak / logitsMiB).toFixed(2), 'forward+backward s': +(t.medianMs / 1000).toFixed(2) });
}
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  if (execSync("git status --porcelain -- ':/' ':(top,exclude)benchmarks/results'", { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()) commit += ' + uncommitted changes';
} catch {
  // not a git checkout
}
writeResults('hybrid-loss-memory', `LM loss forward + backward, ${TOKENS} tokens × vocab ${VOCAB} (d ${D}), cpu backend: peak memory of the full-logits and the chunked cross-entropy`, rows, {
  commit,
  command: 'npx tsx benchmarks/hybrid/loss_memory.ts',
  'one logits tensor': `${TOKENS} × ${VOCAB} float32 = ${logitsMiB.toFixed(0)} MiB`,
  note: 'peakBytes counts every tensor alive at once inside the call (tfjs profile), above the inputs x, W and labels; at 0.5B training shapes (8,192 tokens) the full path scales ×4, the chunked one stays put',
});
