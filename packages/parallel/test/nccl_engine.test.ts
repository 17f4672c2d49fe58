// The NCCL engine's TypeScript (outputs, shapes, device pointers, the stream, no host sync, the
// watchdog) over the host-memory emulations of the cuda addon and of the NCCL addon at world size 1
// (src/testing/): the same checks the device runner makes on the GPU with real NCCL
// (tools/device/run-nccl.sh). Exact comparisons: at world size 1 every collective is a copy.
import { describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import { allReduce, CollectiveError, destroyProcessGroup, initProcessGroup } from '../src/index.js';
import { setNcclAddon } from '../src/native/nccl_addon.js';
import { createEmulatedNcclAddon, runNcclChecks } from '../src/testing/index.js';
import type { CudaBackend } from '@falcon/tensor';

describe('nccl engine over the emulated addons (world size 1)', () => {
  it('runs the whole API like the device check does', async () => {
    const { results } = await runNcclChecks({ emulate: true, quiet: true });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.length).toBeGreaterThan(90);
  });

  it('the watchdog aborts an op that does not complete within the timeout; the next op throws naming it', async () => {
    const cuda = (tf.findBackend('cuda') as CudaBackend).addon;
    const nccl = createEmulatedNcclAddon(cuda);
    setNcclAddon(nccl);
    await initProcessGroup({ backend: 'nccl', rank: 0, worldSize: 1, init: 'tcp://127.0.0.1:0' as `tcp://${string}:${number}`, timeoutMs: 300 });
    nccl.stuck();
    const x = tf.ones([4]);
    await allReduce(x).wait(); // queued: completes at once on a stream
    await new Promise((r) => setTimeout(r, 800));
    const e = await allReduce(x)
      .wait()
      .catch((err: unknown) => err);
    expect(e).toBeInstanceOf(CollectiveError);
    expect((e as CollectiveError).op).toBe('allReduce');
    expect((e as Error).message).toMatch(/allReduce failed on rank 0 \(nccl group 'world' of ranks \[0\]\): not complete after 300 ms; the communicator was aborted/);
    await expect(destroyProcessGroup()).rejects.toThrow(/communicator was aborted/);
  });
});
