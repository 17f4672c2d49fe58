// A machine without Gloo or NCCL: asking for the backend is a clear error saying what is missing,
// before any rendezvous (in this process, with the addon paths pointed at files that do not exist).
import { afterEach, describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import { allReduce, destroyProcessGroup, getWorld, hostStoreInWorker, initProcessGroup } from '../src/index.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('backends that are not there', () => {
  it('gloo without libgloo-dev says so', async () => {
    process.env.FALCON_PARALLEL_GLOO_ADDON = '/nonexistent/falcon_parallel_gloo.node';
    process.env.GLOO_INCLUDE = '/nonexistent';
    await expect(initProcessGroup({ backend: 'gloo' })).rejects.toThrow(/libgloo-dev is missing \(apt-get install libgloo-dev\)/);
  });

  it('gloo with libgloo-dev but no build says how to build', async () => {
    process.env.FALCON_PARALLEL_GLOO_ADDON = '/nonexistent/falcon_parallel_gloo.node';
    await expect(initProcessGroup({ backend: 'gloo' })).rejects.toThrow(/addon is not built.*npm run build:native -w @falcon\/parallel/);
  });

  it('nccl without its addon says how to build it', async () => {
    process.env.FALCON_PARALLEL_NCCL_ADDON = '/nonexistent/falcon_parallel_nccl.node';
    await expect(initProcessGroup({ backend: 'nccl' })).rejects.toThrow(/nccl backend's addon is not built.*build:nccl/);
  });

  it('bad options and environment are clear errors', async () => {
    await expect(initProcessGroup({ backend: 'mpi' as never })).rejects.toThrow(/unknown backend 'mpi'/);
    process.env.RANK = '0';
    delete process.env.WORLD_SIZE;
    await expect(initProcessGroup()).rejects.toThrow(/\$WORLD_SIZE is not set/);
    await expect(initProcessGroup({ rank: 3, worldSize: 2 })).rejects.toThrow(/rank 3 is not in \[0, 2\)/);
    await expect(initProcessGroup({ rank: 0, worldSize: 1, init: 'http://x' as never })).rejects.toThrow(/init must be 'env:\/\/' or 'tcp:\/\/host:port'/);
    expect(() => getWorld()).toThrow(/not initialised: call initProcessGroup\(\) first/);
  });

  it('a single process needs no environment (world size 1, its own store)', async () => {
    delete process.env.RANK;
    delete process.env.WORLD_SIZE;
    delete process.env.MASTER_PORT;
    const w = await initProcessGroup({ timeoutMs: 5000 });
    expect([w.rank, w.size, w.backend]).toEqual([0, 1, 'gloo']);
    await destroyProcessGroup();
  });

  it('an external store (the launcher\'s) serves one world after another', async () => {
    const store = await hostStoreInWorker({ host: '127.0.0.1', port: 0 });
    try {
      Object.assign(process.env, { FALCON_STORE_EXTERNAL: '1', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(store.port), RANK: '0', WORLD_SIZE: '1' });
      for (let i = 0; i < 2; i++) {
        const w = await initProcessGroup({ timeoutMs: 5000 });
        expect(w.name).toBe(i === 0 ? 'world' : 'world.2');
        expect(Array.from((await allReduce(tf.ones([3])).wait()).dataSync())).toEqual([1, 1, 1]);
        await destroyProcessGroup();
      }
    } finally {
      await store.close();
    }
  });
});
