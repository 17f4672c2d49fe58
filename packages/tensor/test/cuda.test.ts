// The cuda backend. Without a GPU (CI): the probe names what is missing, initBackend('cuda') fails
// with that reason, a built addon loads and reports cudaGetDeviceCount's error, every kernel the
// Falcon-H1 composites trace has a cuda kernel, and the TypeScript layer runs the whole self-test
// over an emulated addon (host memory). With a GPU: the self-test runs on the real device (the
// device runner, tools/device/run-cuda.sh, runs the same cases from a bundle).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends, BackendUnavailableError, currentBackend, initBackend, tf } from '../src/index.js';
import { cudaAddonPath } from '../src/backends/cuda/addon.js';
import type { CudaAddon } from '../src/backends/cuda/addon.js';
import { cudaKernelNames } from '../src/backends/cuda/kernels/index.js';
import { registerEmulatedCudaBackend, runCudaSelfTest, traceKernels } from '../src/testing/index.js';

const status = (await availableBackends()).find((s) => s.name === 'cuda')!;

describe('cuda backend: availability', () => {
  it('the probe reports availability or names what is missing', () => {
    if (status.available) {
      expect(status.info?.name).toBeTruthy();
      return;
    }
    expect(status.reason).toMatch(/NVIDIA driver|addon is not built|addon .* could not be loaded|cudaGetDeviceCount|no CUDA device|cuBLASLt|libcublasLt/);
  });

  it.skipIf(status.available)('initBackend("cuda") without a usable GPU is a clear error and leaves the backend alone', async () => {
    await initBackend('cpu');
    const err = await initBackend('cuda').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toContain(`backend 'cuda' is unavailable: ${status.reason}`);
    expect((err as Error).message).toMatch(/available backends: cpu/);
    expect(currentBackend()).toBe('cpu');
  });

  it('a built addon loads without a GPU and its probe explains itself', async () => {
    const path = await cudaAddonPath();
    if (!existsSync(path)) return; // not built here: covered by `node tools/build-cuda.mjs --check` in CI
    const addon = createRequire(import.meta.url)(path) as CudaAddon;
    const p = addon.probe();
    expect(p.runtimeVersion).toBeGreaterThan(0);
    if (p.deviceCount === 0) expect(p.error).toMatch(/^cudaGetDeviceCount failed: cuda\w+ \(/);
    expect(addon.unaryOps).toContain('Sigmoid');
    expect(() => addon.alloc(16)).toThrow(/not initialised/);
  });

  it('every kernel the Falcon-H1 composites and AdamW trace on cpu has a cuda kernel', async () => {
    await initBackend('cpu');
    const traced = [...traceKernels().keys()];
    const have = new Set(cudaKernelNames());
    expect(traced.length).toBeGreaterThan(40);
    expect(traced.filter((k) => !have.has(k))).toEqual([]);
  });
});

describe.skipIf(!status.available)('cuda backend on the GPU', () => {
  beforeAll(async () => {
    await initBackend('cuda');
  });
  afterAll(async () => {
    await initBackend('cpu');
  });
  it('passes the self-test (every kernel against cpu, gradients, memory)', async () => {
    const results = await runCudaSelfTest();
    const failed = results.filter((r) => !r.ok).map((r) => `${r.group} ${r.name}: ${r.note}`);
    expect(failed).toEqual([]);
  });
});

describe.skipIf(status.available)('cuda backend TypeScript layer over an emulated addon', () => {
  let previous: string;
  beforeAll(async () => {
    previous = tf.getBackend();
    registerEmulatedCudaBackend('f32');
    await tf.setBackend('cuda');
    await tf.setBackend(previous);
  });
  afterAll(async () => {
    await tf.setBackend(previous);
    tf.removeBackend('cuda');
  });
  it('passes the self-test against the cpu backend', async () => {
    const results = await runCudaSelfTest({ precision: false });
    const failed = results.filter((r) => !r.ok).map((r) => `${r.group} ${r.name}: ${r.note}`);
    expect(failed).toEqual([]);
    expect(results.length).toBeGreaterThan(300);
  });
});
