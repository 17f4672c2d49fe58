// The computation the demo runs, shared by the page and the Node run the e2e test compares it
// with: the worked example kernel (fused rmsNorm) on seeded inputs, then a greedy "token" per row
// (argmax over the last dim), the discrete result the e2e test requires to be equal.
import { backendInfo, currentBackend, rmsNorm, Rng, tf } from '@falcon/tensor';

/** The demo's sizes: awkward on purpose (dim not a multiple of the workgroup size). */
export const DEMO = { rows: 8, dim: 1000, eps: 1e-5, seed: 2026 } as const;

/** What the demo computed, on which backend. */
export interface DemoResult {
  /** The backend that ran (`webgpu` or `cpu`). */
  backend: string;
  /** The adapter (webgpu) or `'cpu'`. */
  adapter: string;
  /** `[rows, dim]`. */
  shape: number[];
  /** argmax over the last dim of y, per row. */
  tokens: number[];
  /** Every value of y, row-major. */
  values: number[];
  /** Σ y over every element. */
  checksum: number;
  /** Wall time of the op and the read back, in ms (a warm run). */
  ms: number;
}

function seeded(n: number, rng: Rng, mean: number, std: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = mean + std * rng.normal();
  return v;
}

/** Run rmsNorm on the active backend and read the result back (asynchronously: works everywhere). */
export async function runWorkedExample(): Promise<DemoResult> {
  const { rows, dim, eps, seed } = DEMO;
  const rng = new Rng(seed);
  const x = tf.tensor(seeded(rows * dim, rng, 0, 1), [rows, dim]);
  const w = tf.tensor(seeded(dim, rng, 1, 0.5), [dim]);
  const compute = () => tf.tidy(() => {
    const y = rmsNorm(x, w, eps);
    return [y, tf.argMax(y, -1)] as const;
  });
  const [warmY, warmT] = compute(); // compiles the pipelines
  await warmY.data();
  tf.dispose([warmY, warmT]);
  const t0 = performance.now();
  const [y, tokens] = compute();
  const values = Array.from(await y.data());
  const ms = performance.now() - t0;
  const result: DemoResult = {
    backend: currentBackend(),
    adapter: String(backendInfo(currentBackend())?.adapter ?? currentBackend()),
    shape: y.shape,
    tokens: Array.from(await tokens.data()),
    values,
    checksum: values.reduce((a, b) => a + b, 0),
    ms,
  };
  tf.dispose([x, w, y, tokens]);
  return result;
}
