/**
 * The Gloo addon (`csrc/gloo/`, built by `scripts/build-native.mjs` into
 * `build/falcon_parallel_gloo.node`), loaded on first use. A missing libgloo or a missing build is
 * an error saying what to install or run.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Host buffers the addon works on. @internal */
export type HostBuffer = Float32Array | Int32Array;

/** A posted point-to-point transfer of the addon: `wait()` blocks until it is done (throws on failure), once. @internal */
export interface GlooNativeHandle {
  wait(): void;
  isCompleted(): boolean;
}

/** A group of the addon (see csrc/gloo/addon.cpp for the contract). @internal */
export interface GlooNativeGroup {
  connect(): Promise<void>;
  allreduce(input: HostBuffer, output: HostBuffer, op: string, header: Uint8Array | null, sync: boolean): Promise<void> | undefined;
  allgather(input: HostBuffer, output: HostBuffer, header: Uint8Array | null, sync: boolean): Promise<void> | undefined;
  reduceScatter(input: HostBuffer, output: HostBuffer, op: string, header: Uint8Array | null, sync: boolean): Promise<void> | undefined;
  broadcast(input: HostBuffer, output: HostBuffer, root: number, header: Uint8Array | null, sync: boolean): Promise<void> | undefined;
  alltoall(input: HostBuffer, output: HostBuffer, header: Uint8Array | null, sync: boolean): Promise<void> | undefined;
  barrier(sync: boolean): Promise<void> | undefined;
  send(input: HostBuffer, dst: number, tag: number, sync: boolean): Promise<void> | undefined;
  recv(output: HostBuffer, src: number, tag: number, sync: boolean): Promise<void> | undefined;
  isend(input: HostBuffer, dst: number, tag: number): GlooNativeHandle;
  irecv(output: HostBuffer, src: number, tag: number): GlooNativeHandle;
  close(): void;
}

/** Options of a native group. @internal */
export interface GlooGroupOptions {
  storeHost: string;
  storePort: number;
  prefix: string;
  rank: number;
  size: number;
  globalRanks: number[];
  timeoutMs: number;
  hostname?: string;
  iface?: string;
  registerLiveness?: boolean;
  storeHostRank?: number;
}

/** The addon's exports. @internal */
export interface GlooAddon {
  probe(): { gloo: string };
  GlooGroup: new (opts: GlooGroupOptions) => GlooNativeGroup;
}

let cached: GlooAddon | undefined;

/** Where the addon is looked for: `$FALCON_PARALLEL_GLOO_ADDON`, else the package's `build/` (src/ and dist/ are both two folders below it). */
export function glooAddonPath(): string {
  return process.env.FALCON_PARALLEL_GLOO_ADDON ?? fileURLToPath(new URL('../../build/falcon_parallel_gloo.node', import.meta.url));
}

/** Loads the addon or throws an Error saying what is missing. @internal */
export function loadGlooAddon(): GlooAddon {
  if (cached) return cached;
  const path = glooAddonPath();
  const hasGloo = [process.env.GLOO_INCLUDE ?? '/usr/include', '/usr/local/include'].some((d) => existsSync(`${d}/gloo/config.h`)) && !process.env.GLOO_INCLUDE?.startsWith('/nonexistent');
  if (!existsSync(path)) {
    throw new Error(
      hasGloo
        ? `the gloo backend's addon is not built (${path} is missing): run 'npm run build:native -w @falcon/parallel' (needs g++)`
        : `the gloo backend needs Gloo: libgloo-dev is missing (apt-get install libgloo-dev), then build the addon with 'npm run build:native -w @falcon/parallel'`,
    );
  }
  try {
    cached = createRequire(import.meta.url)(path) as GlooAddon;
  } catch (e) {
    const m = (e as Error).message.split('\n')[0];
    throw new Error(/libgloo/.test(m) ? `the gloo backend needs Gloo's library: ${m} (apt-get install libgloo0 or libgloo-dev)` : `the gloo addon (${path}) could not be loaded: ${m}`);
  }
  return cached;
}
