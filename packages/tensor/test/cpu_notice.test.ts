// Library users must not see tfjs-backend-cpu's "install tfjs-node" notice, and the application's
// own tfjs warnings must stay on (the PROD flag is not left set). The package is imported fresh
// here (vitest gives every test file its own module graph), after the console spy is in place.
import { afterAll, describe, expect, it, vi } from 'vitest';

const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
const log = vi.spyOn(console, 'log').mockImplementation(() => {});
afterAll(() => {
  warn.mockRestore();
  log.mockRestore();
});
const printed = () => [...warn.mock.calls, ...log.mock.calls].map((c) => c.join(' ')).join('\n');
const BANNER = /tfjs-node|running TensorFlow\.js in Node/;

describe('tfjs notices', () => {
  it('computing right after importing @falcon/tensor (tfjs picks its default backend) prints no banner', async () => {
    const { tf } = await import('@falcon/tensor');
    expect(tf.env().getBool('IS_NODE')).toBe(true); // the banner's own condition holds here
    const y = tf.add(tf.tensor1d([1, 2, 3]), tf.scalar(1));
    expect(Array.from(y.dataSync())).toEqual([2, 3, 4]);
    expect(tf.getBackend()).toBe('cpu');
    expect(printed()).not.toMatch(BANNER);
  });

  it('nor does another cpu backend instance made by the registered factory', async () => {
    const { tf, initBackend } = await import('@falcon/tensor');
    await initBackend('cpu');
    expect(Array.from(tf.mul(tf.tensor1d([2]), 3).dataSync())).toEqual([6]);
    const factory = tf.findBackendFactory('cpu')!;
    const fresh = factory() as ReturnType<typeof tf.backend>;
    fresh.write(new Float32Array([1]), [1], 'float32'); // a new instance's first write
    expect(printed()).not.toMatch(BANNER);
  });

  it("leaves tfjs's PROD flag as it was, so tfjs's other warnings still reach the application", async () => {
    const { tf } = await import('@falcon/tensor');
    expect(tf.env().getBool('PROD')).toBe(false);
    warn.mockClear();
    tf.backend_util.warn('a tfjs warning');
    expect(warn).toHaveBeenCalledWith('a tfjs warning');
  });
});
