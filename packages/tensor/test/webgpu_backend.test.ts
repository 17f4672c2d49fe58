// The webgpu backend on the real adapter (SwiftShader in CI): what initBackend reports, re-init,
// the adapter options, and clear errors for synchronous reads. Runs when FALCON_TEST_BACKENDS lists
// webgpu; an adapter that cannot be found then fails these tests (they are not skipped).
import { describe, expect, it } from 'vitest';
import { availableBackends, backendInfo, currentBackend, initBackend, takeWebgpuErrors, tf } from '../src/index.js';
import { backendsUnderTest } from '../src/testing/index.js';

describe.runIf(backendsUnderTest().includes('webgpu'))('webgpu backend', () => {
  it('starts, and reports the adapter, its features and limits', async () => {
    const s = await initBackend('webgpu');
    expect(currentBackend()).toBe('webgpu');
    const info = s.info!;
    expect(info.adapter).toMatch(/\w/);
    expect(typeof info.fallback).toBe('boolean');
    expect(info.powerPreference).toBe('high-performance');
    expect(info.runtime).toBe(typeof process !== 'undefined' ? 'Dawn (webgpu npm package)' : 'navigator.gpu');
    expect(Array.isArray(info.features)).toBe(true);
    const limits = info.limits as Record<string, number>;
    expect(limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256); // WebGPU's guaranteed minimum
    expect(limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 << 20);
    expect(backendInfo('webgpu')).toEqual(info);
    console.log(`webgpu adapter: ${String(info.adapter)} (fallback: ${String(info.fallback)})`);
    expect(Array.from(await tf.add(tf.tensor([1, 2, 3]), tf.tensor([10, 20, 30])).data())).toEqual([11, 22, 33]);
  });

  it('initBackend again with the same options keeps the same backend and its tensors', async () => {
    await initBackend('webgpu');
    const before = tf.findBackend('webgpu');
    const t = tf.matMul(tf.ones([3, 4]), tf.ones([4, 2]));
    await initBackend('webgpu');
    expect(tf.findBackend('webgpu')).toBe(before);
    expect(Array.from(await t.data())).toEqual(new Array(6).fill(4));
  });

  it('is listed as available', async () => {
    expect((await availableBackends()).find((s) => s.name === 'webgpu')).toMatchObject({ available: true });
  });

  it('synchronous reads of GPU data fail with a clear error in Node, and work after an async read', async () => {
    await initBackend('webgpu');
    const t = tf.matMul(tf.ones([2, 2]), tf.ones([2, 2]));
    if (typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === 'undefined') {
      expect(() => t.dataSync()).toThrow(/webgpu: synchronous reads .* read with `await t.data\(\)`/);
    }
    await t.data();
    expect(Array.from(t.dataSync())).toEqual([2, 2, 2, 2]);
  });

  it('allowFallbackAdapter: false refuses a software adapter and leaves the running backend alone', async () => {
    const { info } = await initBackend('webgpu');
    if (!info!.fallback) return; // a hardware adapter: nothing to refuse
    await expect(initBackend('webgpu', { allowFallbackAdapter: false })).rejects.toThrow(/only a fallback \(software\) adapter was found/);
    expect(currentBackend()).toBe('webgpu');
    expect(Array.from(await tf.mul(tf.tensor([2]), 3).data())).toEqual([6]);
  });

  it("powerPreference: 'low-power' starts a new backend on the adapter chosen for it", async () => {
    const before = tf.findBackend('webgpu');
    const { info } = await initBackend('webgpu', { powerPreference: 'low-power' });
    expect(info!.powerPreference).toBe('low-power');
    expect(tf.findBackend('webgpu')).not.toBe(before);
    expect(Array.from(await tf.sum(tf.range(0, 10)).data())).toEqual([45]);
    expect(await takeWebgpuErrors()).toEqual([]);
  });
});
