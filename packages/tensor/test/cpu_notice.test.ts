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

describe('tfjs notices', () => {
  it('importing @falcon/tensor and computing on cpu prints no "install tfjs-node" banner', async () => {
    const { tf, initBackend } = await import('@falcon/tensor');
    expect(tf.env().getBool('IS_NODE')).toBe(true); // the banner's own condition holds here
    await initBackend('cpu');
    const y = tf.add(tf.tensor1d([1, 2, 3]), tf.scalar(1));
    expect(Array.from(y.dataSync())).toEqual([2, 3, 4]);
    const printed = [...warn.mock.calls, ...log.mock.calls].map((c) => c.join(' ')).join('\n');
    expect(printed).not.toMatch(/tfjs-node|running TensorFlow\.js in Node/);
  });

  it("leaves tfjs's PROD flag as it was, so tfjs's other warnings still reach the application", async () => {
    const { tf } = await import('@falcon/tensor');
    expect(tf.env().getBool('PROD')).toBe(false);
    warn.mockClear();
    tf.backend_util.warn('a tfjs warning');
    expect(warn).toHaveBeenCalledWith('a tfjs warning');
  });
});
