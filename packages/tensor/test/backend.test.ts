// Backend lifecycle: cpu default, missing backends reported with a reason, unknown names rejected.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { availableBackends, BackendUnavailableError, currentBackend, initBackend, tf, VERSION } from '../src/index.js';

describe('backends', () => {
  it('starts cpu by default and reports it', async () => {
    const s = await initBackend();
    expect(s).toMatchObject({ name: 'cpu', available: true });
    expect(currentBackend()).toBe('cpu');
    expect(tf.add(1, 2).dataSync()[0]).toBe(3);
  });
  it('reports every backend, with a reason for unavailable ones', async () => {
    const all = await availableBackends();
    expect(all.map((s) => s.name)).toEqual(['cpu', 'webgpu', 'cuda']);
    for (const s of all) if (!s.available) expect(s.reason).toMatch(/\w+/);
  });
  it('asking for cuda without a GPU is a clear error listing what works', async () => {
    const cuda = (await availableBackends()).find((s) => s.name === 'cuda')!;
    if (cuda.available) return; // on a GPU machine this case is covered by the device runner
    await expect(initBackend('cuda')).rejects.toThrow(BackendUnavailableError);
    await expect(initBackend('cuda')).rejects.toThrow(/backend 'cuda' is unavailable: .*\(available backends: cpu/);
    expect(currentBackend()).toBe('cpu');
  });
  it('rejects unknown backend names', async () => {
    await expect(initBackend('tpu' as never)).rejects.toThrow(/unknown backend 'tpu': expected one of cpu, webgpu, cuda/);
  });
  it('VERSION matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});
