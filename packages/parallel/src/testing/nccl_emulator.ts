// A host-memory emulation of @falcon/parallel's NCCL addon at world size 1, over the emulated cuda
// addon (@falcon/tensor/testing): every collective of one rank is a copy from the send to the
// receive pointer, which is what NCCL computes at world size 1. It lets the NCCL checks
// (nccl_checks.ts: the NCCL engine's TypeScript: outputs, shapes, pointers, the stream) run here;
// the device runner runs the same checks on the real addon and NCCL.
import type { CudaBackend } from '@falcon/tensor';
import type { NcclAddon, NcclComm } from '../native/nccl_addon.js';

type CudaAddon = CudaBackend['addon'];

/** Emulated NCCL addon; `stuck()` makes every later op never complete (the watchdog's test). */
export function createEmulatedNcclAddon(cuda: CudaAddon): NcclAddon & { stuck(): void } {
  let stuck = false;
  // Bound now: the no-host-sync check counts the cuda addon's own download calls, not the emulation's.
  const download = cuda.download.bind(cuda);
  const upload = cuda.upload.bind(cuda);
  const copy = (src: number, dst: number, count: number): void => {
    const b = new Uint8Array(count * 4);
    download(src, b);
    upload(dst, b);
  };
  const one = (n: number): void => {
    if (n !== 1) throw new Error(`the emulated NCCL addon runs world size 1 only (got ${n})`);
  };
  return {
    probe: () => ({ nccl: 'emulated' }),
    init: () => undefined,
    uniqueId: () => new Uint8Array(128),
    initRank: (_id, n) => (one(n), {} as NcclComm),
    allReduce: (_c, _s, send, recv, count) => copy(send, recv, count),
    allGather: (_c, _s, send, recv, count) => copy(send, recv, count),
    reduceScatter: (_c, _s, send, recv, count) => copy(send, recv, count),
    broadcast: (_c, _s, send, recv, count) => copy(send, recv, count),
    send: () => {
      throw new Error('emulated NCCL: send needs a peer');
    },
    recv: () => {
      throw new Error('emulated NCCL: recv needs a peer');
    },
    allToAll: (_c, _s, send, recv, count, _d, n) => (one(n), copy(send, recv, count)),
    asyncError: () => null,
    destroy: () => undefined,
    abort: () => undefined,
    eventRecord: () => ({ stuck }),
    eventDone: (ev) => !(ev as { stuck: boolean }).stuck,
    eventDestroy: () => undefined,
    stuck: () => {
      stuck = true;
    },
  };
}
