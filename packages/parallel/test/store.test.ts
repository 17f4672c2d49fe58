// The TCP store (torch TCPStore semantics) in this process: the server in a worker thread, two
// clients: set/get across clients, get waiting for a later set, wait with a timeout naming the
// missing keys, add, compareSet, deleteKey, numKeys, check, the dead-rank key when a registered
// connection drops, and a clear error when nothing listens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostStoreInWorker, StoreTimeoutError, TcpStore } from '../src/index.js';
import type { StoreServerHandle } from '../src/index.js';
import { freePort } from './helpers/spawn_group.js';

describe('TcpStore', () => {
  let server: StoreServerHandle;
  let a: TcpStore;
  let b: TcpStore;
  beforeAll(async () => {
    server = await hostStoreInWorker({ host: '127.0.0.1', port: 0 });
    a = await TcpStore.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
    b = await TcpStore.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
  });
  afterAll(async () => {
    a.close();
    b.close();
    await server.close();
  });

  it('get waits for a set from another client; values are bytes', async () => {
    const pending = a.get('k1');
    await new Promise((r) => setTimeout(r, 50));
    await b.set('k1', new Uint8Array([0, 255, 7]));
    expect([...(await pending)]).toEqual([0, 255, 7]);
    await b.set('k1', 'text');
    expect((await a.get('k1')).toString()).toBe('text');
  });

  it('wait and get time out naming the missing keys', async () => {
    await a.set('here', '1');
    const t0 = Date.now();
    const e = await a.wait(['here', 'absent1', 'absent2'], 200).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StoreTimeoutError);
    expect((e as StoreTimeoutError).missing).toEqual(['absent1', 'absent2']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    await expect(a.get('never', 100)).rejects.toThrow(/get 'never' \(100 ms\) timed out; missing keys: never/);
    // the connection still works after a timeout
    expect(await a.check(['here'])).toBe(true);
    expect(await a.check(['here', 'absent1'])).toBe(false);
  });

  it('add, compareSet, deleteKey, numKeys', async () => {
    expect(await a.add('n', 5)).toBe(5);
    expect(await b.add('n', -2)).toBe(3);
    expect((await a.get('n')).toString()).toBe('3');
    expect((await a.compareSet('cs', '', 'first')).toString()).toBe('first');
    expect((await a.compareSet('cs', 'wrong', 'second')).toString()).toBe('first');
    expect((await a.compareSet('cs', 'first', 'second')).toString()).toBe('second');
    expect((await a.compareSet('missing', 'x', 'y')).toString()).toBe('x');
    const before = await a.numKeys();
    expect(await a.deleteKey('cs')).toBe(true);
    expect(await a.deleteKey('cs')).toBe(false);
    expect(await a.numKeys()).toBe(before - 1);
  });

  it('a registered connection that drops marks its rank dead; an unregistered one does not', async () => {
    const c = await TcpStore.connect('127.0.0.1', server.port);
    await c.register(7);
    c.close();
    await a.wait(['__falcon/dead/7'], 2000);
    const d = await TcpStore.connect('127.0.0.1', server.port);
    await d.register(8);
    await d.unregister();
    d.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(await a.check(['__falcon/dead/8'])).toBe(false);
  });

  it('connect fails with the address when nothing listens', async () => {
    const port = await freePort();
    await expect(TcpStore.connect('127.0.0.1', port, { timeoutMs: 300 })).rejects.toThrow(new RegExp(`could not reach the store at 127.0.0.1:${port} within 300 ms`));
  });

  it('hosting on a port in use is a clear error', async () => {
    await expect(hostStoreInWorker({ host: '127.0.0.1', port: server.port })).rejects.toThrow(new RegExp(`could not listen on 127.0.0.1:${server.port}`));
  });
});
