/**
 * The NCCL addon (`csrc/nccl/`, built by `scripts/build-native.mjs --nccl` with nvcc into
 * `build/falcon_parallel_nccl.node`; `$FALCON_PARALLEL_NCCL_ADDON` names another file), loaded on
 * first use. libnccl.so.2 itself is dlopen'ed by the addon when a communicator is made.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** An NCCL communicator (opaque). @internal */
export type NcclComm = object & { readonly __nccl?: never };

/** The addon's exports (see csrc/nccl/addon.cpp). @internal */
export interface NcclAddon {
  probe(): { nccl: string | null; error?: string };
  init(device: number): void;
  uniqueId(): Uint8Array;
  initRank(id: Uint8Array, nranks: number, rank: number): NcclComm;
  allReduce(comm: NcclComm, stream: number, send: number, recv: number, count: number, dtype: number, op: string): void;
  allGather(comm: NcclComm, stream: number, send: number, recv: number, sendCount: number, dtype: number): void;
  reduceScatter(comm: NcclComm, stream: number, send: number, recv: number, recvCount: number, dtype: number, op: string): void;
  broadcast(comm: NcclComm, stream: number, send: number, recv: number, count: number, dtype: number, root: number): void;
  send(comm: NcclComm, stream: number, ptr: number, count: number, dtype: number, peer: number): void;
  recv(comm: NcclComm, stream: number, ptr: number, count: number, dtype: number, peer: number): void;
  allToAll(comm: NcclComm, stream: number, send: number, recv: number, countPerRank: number, dtype: number, nranks: number): void;
  asyncError(comm: NcclComm): string | null;
  destroy(comm: NcclComm): void;
  abort(comm: NcclComm): void;
  eventRecord(stream: number): NcclEvent;
  eventDone(ev: NcclEvent): boolean;
  eventDestroy(ev: NcclEvent): void;
}

/** A CUDA event recorded after an op (opaque). @internal */
export type NcclEvent = object & { readonly __event?: never };

let cached: NcclAddon | undefined;

/** Replaces the addon (the device runner's host-memory emulation checks the engine without a GPU). @internal */
export function setNcclAddon(a: NcclAddon | undefined): void {
  cached = a;
}

/** Path of the addon. */
export function ncclAddonPath(): string {
  return process.env.FALCON_PARALLEL_NCCL_ADDON ?? fileURLToPath(new URL('../../build/falcon_parallel_nccl.node', import.meta.url));
}

/** Loads the addon, checking that NCCL itself loads; throws an Error saying what is missing. @internal */
export function loadNcclAddon(): NcclAddon {
  if (cached) return cached;
  const path = ncclAddonPath();
  if (!existsSync(path)) {
    throw new Error(`the nccl backend's addon is not built (${path} is missing): run 'npm run build:nccl -w @falcon/parallel' (needs nvcc, CUDA 12+)`);
  }
  let a: NcclAddon;
  try {
    a = createRequire(import.meta.url)(path) as NcclAddon;
  } catch (e) {
    throw new Error(`the nccl addon (${path}) could not be loaded: ${(e as Error).message.split('\n')[0]}`);
  }
  const p = a.probe();
  if (!p.nccl) throw new Error(p.error ?? 'NCCL is not available');
  cached = a;
  return a;
}
