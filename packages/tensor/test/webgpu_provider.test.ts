// The webgpu provider's adapter choice and its errors, against a fake navigator.gpu: runs on every
// machine (no GPU, no Dawn), so the "no adapter" and "fallback refused" paths are always tested.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableBackends, BackendUnavailableError, currentBackend, initBackend, rmsNorm, tf } from '../src/index.js';

interface FakeAdapter {
  info: Record<string, unknown>;
  features: Set<string>;
  limits: Record<string, number>;
  requestDevice(): Promise<never>;
}

function fakeAdapter(fallback: boolean, deviceError = 'no device in a fake'): FakeAdapter {
  return {
    info: { vendor: 'acme', architecture: fallback ? 'soft' : 'gen9', description: fallback ? 'Acme CPU' : 'Acme GPU', isFallbackAdapter: fallback },
    features: new Set(['timestamp-query']),
    limits: { maxComputeInvocationsPerWorkgroup: 256, maxStorageBufferBindingSize: 1 << 27 },
    requestDevice: () => Promise.reject(new Error(deviceError)),
  };
}

function installGpu(hardware: FakeAdapter | null, fallback: FakeAdapter | null) {
  const calls: Record<string, unknown>[] = [];
  const gpu = {
    requestAdapter: async (o: Record<string, unknown> = {}) => {
      calls.push(o);
      return o.forceFallbackAdapter ? fallback : hardware;
    },
  };
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return calls;
}

describe('a CPU-only user', () => {
  it('loads neither Dawn nor tfjs-backend-webgpu (the webgpu path is optional)', async () => {
    await initBackend('cpu');
    rmsNorm(tf.ones([2, 3]), tf.ones([3]), 1e-5).dispose();
    // tfjs-backend-webgpu registers its kernels on import; ours (FalconRmsNorm...) are the only webgpu ones.
    expect(tf.getKernelsForBackend('webgpu').every((k) => k.kernelName.startsWith('Falcon'))).toBe(true);
    expect((globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage).toBeUndefined(); // one of Dawn's globals
  });
});

describe('webgpu provider (fake navigator.gpu)', () => {
  let saved: PropertyDescriptor | undefined;
  beforeEach(() => {
    saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  });
  afterEach(() => {
    if (saved) Object.defineProperty(globalThis, 'navigator', saved);
    else delete (globalThis as { navigator?: unknown }).navigator;
  });

  it('no adapter at all: a clear error naming what is missing and what works, cpu stays active', async () => {
    await initBackend('cpu');
    const calls = installGpu(null, null);
    await expect(initBackend('webgpu')).rejects.toThrow(BackendUnavailableError);
    await expect(initBackend('webgpu')).rejects.toThrow(/backend 'webgpu' is unavailable: no WebGPU adapter was found .*VK_ICD_FILENAMES.*\(available backends: cpu/);
    // high-performance first, then a fallback adapter (allowed by default)
    expect(calls.slice(0, 2)).toEqual([{ powerPreference: 'high-performance' }, { powerPreference: 'high-performance', forceFallbackAdapter: true }]);
    expect(currentBackend()).toBe('cpu');
  });

  it('availableBackends reports the adapter it would use, with the power preference asked for', async () => {
    const calls = installGpu(fakeAdapter(false), null);
    const webgpu = (await availableBackends({ powerPreference: 'low-power' })).find((s) => s.name === 'webgpu')!;
    expect(webgpu).toMatchObject({ available: true, info: { adapter: 'acme / gen9 (Acme GPU)', fallback: false, powerPreference: 'low-power' } });
    expect(webgpu.info!.features).toEqual(['timestamp-query']);
    expect(webgpu.info!.limits).toEqual({ maxComputeInvocationsPerWorkgroup: 256, maxStorageBufferBindingSize: 1 << 27 });
    expect(calls).toEqual([{ powerPreference: 'low-power' }]);
  });

  it('allowFallbackAdapter: false refuses a software adapter, and never asks for one', async () => {
    const calls = installGpu(fakeAdapter(true), fakeAdapter(true));
    await expect(initBackend('webgpu', { allowFallbackAdapter: false })).rejects.toThrow(
      /only a fallback \(software\) adapter was found \(acme \/ soft \(Acme CPU\)\) and allowFallbackAdapter is false/,
    );
    expect(calls.every((c) => !c.forceFallbackAdapter)).toBe(true);
    const fb = (await availableBackends({ allowFallbackAdapter: false })).find((s) => s.name === 'webgpu')!;
    expect(fb).toMatchObject({ available: false, reason: expect.stringMatching(/only a fallback/) });
  });

  it('a fallback adapter is used when no hardware adapter exists (the default)', async () => {
    installGpu(null, fakeAdapter(true));
    const webgpu = (await availableBackends()).find((s) => s.name === 'webgpu')!;
    expect(webgpu).toMatchObject({ available: true, info: { fallback: true, adapter: 'acme / soft (Acme CPU)' } });
  });

  it('an adapter that refuses to create a device is a clear error', async () => {
    installGpu(fakeAdapter(false, 'out of fake memory'), null);
    await expect(initBackend('webgpu')).rejects.toThrow(/the adapter acme \/ gen9 \(Acme GPU\) refused to create a device: out of fake memory/);
  });
});
