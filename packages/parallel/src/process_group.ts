/**
 * Process groups: {@link initProcessGroup} (torchrun's environment, rendezvous through the TCP
 * store), {@link getWorld}, {@link newGroup} and {@link destroyProcessGroup}.
 *
 * Rank 0 hosts the store in a worker thread (`store/host.ts`) unless `FALCON_STORE_EXTERNAL=1`
 * says that the launcher hosts it at `MASTER_ADDR:MASTER_PORT`. Every process keeps one store
 * connection registered under its rank, so when a process dies the store marks it dead and the
 * survivors of a failed collective can name it.
 */
import { hostname as osHostname, networkInterfaces } from 'node:os';
import type { Engine } from './engine.js';
import { CollectiveError, toCollectiveError } from './errors.js';
import { GlooEngine } from './gloo_engine.js';
import { loadGlooAddon } from './native/gloo_addon.js';
import { checkNcclAvailable, createNcclEngine } from './nccl_engine.js';
import { TcpStore } from './store/client.js';
import { deadKey } from './store/protocol.js';
import { hostStoreInWorker } from './store/host.js';
import type { StoreServerHandle } from './store/server.js';

/** A communication backend. */
export type Backend = 'gloo' | 'nccl';

/** Options of {@link initProcessGroup}. */
export interface InitProcessGroupOptions {
  /** `'gloo'` (cpu tensors, default) or `'nccl'` (cuda tensors). */
  backend?: Backend;
  /** `'env://'` (default: `MASTER_ADDR`, `MASTER_PORT`) or `'tcp://host:port'`. */
  init?: 'env://' | `tcp://${string}:${number}`;
  /** This process's rank (default `$RANK`, or 0 when neither `RANK` nor `WORLD_SIZE` is set). */
  rank?: number;
  /** Number of processes (default `$WORLD_SIZE`, or 1). */
  worldSize?: number;
  /** Timeout of the rendezvous and of every collective, in ms (default `$FALCON_PG_TIMEOUT_MS` or 30 minutes, as torch). */
  timeoutMs?: number;
}

/** Options of {@link newGroup}. */
export interface NewGroupOptions {
  /** Backend of the new group (default: the world's). */
  backend?: Backend;
  /** Timeout (default: the world's). */
  timeoutMs?: number;
}

/**
 * A process group: a set of ranks that run collectives together. `ranks` are global ranks in
 * group order; `rank` is this process's index in `ranks` (-1 when it is not a member).
 */
export class ProcessGroup {
  /** This process's rank within the group (-1 if not a member). */
  readonly rank: number;
  /** Number of ranks in the group. */
  readonly size: number;
  /** The global ranks of the group, in group order. */
  readonly ranks: number[];
  /** The backend. */
  readonly backend: Backend;
  /** Timeout of every collective of the group (ms). */
  readonly timeoutMs: number;
  /** The group's store prefix (`'world'`, `'g1'`, `'mp0/tp/1'`...). */
  readonly name: string;
  /** This process's global rank. */
  readonly globalRank: number;
  /** @internal */
  engine?: Engine;

  /** @internal */
  constructor(name: string, ranks: number[], globalRank: number, backend: Backend, timeoutMs: number, engine?: Engine) {
    this.name = name;
    this.ranks = ranks;
    this.size = ranks.length;
    this.globalRank = globalRank;
    this.rank = ranks.indexOf(globalRank);
    this.backend = backend;
    this.timeoutMs = timeoutMs;
    this.engine = engine;
  }

  /** Whether this process belongs to the group. */
  get isMember(): boolean {
    return this.rank >= 0;
  }

  /** The group rank of a global rank. @throws RangeError if it is not in the group */
  groupRank(globalRank: number): number {
    const r = this.ranks.indexOf(globalRank);
    if (r < 0) throw new RangeError(`rank ${globalRank} is not in group '${this.name}' [${this.ranks.join(',')}]`);
    return r;
  }

  /** The engine, or an error naming the op when this process is not a member / the group is destroyed. @internal */
  use(op: string): Engine {
    if (!this.isMember) throw new CollectiveError(`${op}: rank ${this.globalRank} is not a member of group '${this.name}' [${this.ranks.join(',')}]`, this.globalRank, op);
    if (!this.engine) throw new CollectiveError(`${op}: group '${this.name}' was destroyed`, this.globalRank, op);
    return this.engine;
  }
}

interface WorldState {
  group: ProcessGroup;
  store: TcpStore;
  server?: StoreServerHandle;
  storeHost: string;
  storePort: number;
  storeHostRank: number;
  groups: ProcessGroup[];
  counter: number;
  /** How many times this rank joined a world through this store (prefixes keys, so a store that outlives a world — the launcher's — can serve the next). */
  epoch: number;
  transport: { hostname?: string; iface?: string };
}

let world: WorldState | undefined;

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`initProcessGroup: $${name} must be a non-negative integer, got '${v}'`);
  return n;
}

/** The address this process's Gloo transport binds to and advertises. */
function transportAddress(worldSize: number): { hostname?: string; iface?: string } {
  if (process.env.GLOO_SOCKET_IFNAME) return { iface: process.env.GLOO_SOCKET_IFNAME.split(',')[0] };
  if (process.env.FALCON_GLOO_HOSTNAME) return { hostname: process.env.FALCON_GLOO_HOSTNAME };
  const local = envInt('LOCAL_WORLD_SIZE') ?? worldSize;
  if (local >= worldSize) return { hostname: '127.0.0.1' };
  // Several machines: the first external IPv4 address (set GLOO_SOCKET_IFNAME to choose).
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return { hostname: a.address };
  }
  return { hostname: osHostname() };
}

/**
 * Joins the default process group (the world) with torchrun's conventions: `RANK`, `WORLD_SIZE`,
 * `LOCAL_RANK`, `LOCAL_WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`. Every rank of the world must call it.
 *
 * @param opts - backend, rendezvous address, rank, world size, timeout
 * @returns the world group
 * @throws CollectiveError when the rendezvous times out (naming the ranks that never arrived);
 *   Error when the backend is unavailable (e.g. libgloo-dev missing) or the environment is incomplete
 */
export async function initProcessGroup(opts: InitProcessGroupOptions = {}): Promise<ProcessGroup> {
  if (world) throw new Error('initProcessGroup: the default process group is already initialised (call destroyProcessGroup first)');
  const backend = opts.backend ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl') throw new Error(`initProcessGroup: unknown backend '${String(backend)}' (gloo, nccl)`);
  const hasEnv = process.env.RANK !== undefined || process.env.WORLD_SIZE !== undefined;
  const rank = opts.rank ?? envInt('RANK') ?? (hasEnv ? undefined : 0);
  const worldSize = opts.worldSize ?? envInt('WORLD_SIZE') ?? (hasEnv ? undefined : 1);
  if (rank === undefined) throw new Error("initProcessGroup: $RANK is not set (run under 'falcon launch', or pass { rank, worldSize })");
  if (worldSize === undefined) throw new Error("initProcessGroup: $WORLD_SIZE is not set (run under 'falcon launch', or pass { rank, worldSize })");
  if (!(worldSize >= 1) || !(rank >= 0 && rank < worldSize)) throw new Error(`initProcessGroup: rank ${rank} is not in [0, ${worldSize})`);
  const timeoutMs = opts.timeoutMs ?? envInt('FALCON_PG_TIMEOUT_MS') ?? 30 * 60_000;
  if (!(timeoutMs > 0)) throw new Error(`initProcessGroup: timeoutMs must be positive, got ${timeoutMs}`);

  let host: string;
  let port: number | undefined;
  const init = opts.init ?? 'env://';
  if (init === 'env://') {
    host = process.env.MASTER_ADDR || '127.0.0.1';
    port = envInt('MASTER_PORT') ?? (worldSize === 1 ? 0 : 29500);
  } else {
    const m = /^tcp:\/\/\[?([^\]]+?)\]?:(\d+)$/.exec(init);
    if (!m) throw new Error(`initProcessGroup: init must be 'env://' or 'tcp://host:port', got '${init}'`);
    host = m[1];
    port = Number(m[2]);
  }
  // Load the backend first: a missing library is reported before any rendezvous.
  if (backend === 'gloo') loadGlooAddon();
  else checkNcclAvailable();

  const external = process.env.FALCON_STORE_EXTERNAL === '1' || process.env.TORCHELASTIC_USE_AGENT_STORE === 'True';
  let server: StoreServerHandle | undefined;
  if (rank === 0 && !external) {
    server = await hostStoreInWorker({ host: '0.0.0.0', port });
    port = server.port;
  }
  if (port === 0) throw new Error('initProcessGroup: MASTER_PORT must be set when rank 0 does not host the store');
  let store: TcpStore;
  let epoch: number;
  try {
    store = await TcpStore.connect(host, port, { timeoutMs });
    await store.register(rank);
    epoch = await store.add(`__falcon/epoch/${rank}`, 1);
  } catch (e) {
    await server?.close();
    throw new CollectiveError(`rendezvous of rank ${rank}: ${(e as Error).message}`, rank, 'rendezvous', rank === 0 ? undefined : external ? undefined : 0);
  }
  const state: WorldState = {
    group: undefined as unknown as ProcessGroup,
    store,
    server,
    storeHost: host,
    storePort: port,
    storeHostRank: external ? -1 : 0,
    groups: [],
    counter: 0,
    epoch,
    transport: transportAddress(worldSize),
  };
  try {
    const ranks = Array.from({ length: worldSize }, (_, i) => i);
    state.group = await makeGroup(state, epoch === 1 ? 'world' : `world.${epoch}`, ranks, rank, backend, timeoutMs);
  } catch (e) {
    // The store host keeps serving until the other ranks that came have seen their own rendezvous
    // error (naming the missing rank) rather than a vanished store (at most 3 s).
    await store.set(`__falcon/rendezvous-failed/${rank}`, '1').catch(() => undefined);
    if (server) {
      const missing = (e as CollectiveError).missingRank;
      const keys = Array.from({ length: worldSize }, (_, r) => r)
        .filter((r) => r !== missing && r !== rank)
        .map((r) => `__falcon/rendezvous-failed/${r}`);
      await store.wait(keys, Math.min(3000, timeoutMs)).catch(() => undefined);
    }
    store.close();
    await server?.close();
    throw e;
  }
  world = state;
  return state.group;
}

/** Connects this process's engine for a group it is a member of. */
async function makeGroup(w: WorldState, name: string, ranks: number[], globalRank: number, backend: Backend, timeoutMs: number): Promise<ProcessGroup> {
  const pg = new ProcessGroup(name, ranks, globalRank, backend, timeoutMs);
  if (!pg.isMember) return pg;
  try {
    if (backend === 'gloo') {
      const addon = loadGlooAddon();
      const g = new addon.GlooGroup({
        storeHost: w.storeHost,
        storePort: w.storePort,
        prefix: name,
        rank: pg.rank,
        size: pg.size,
        globalRanks: ranks,
        timeoutMs,
        ...w.transport,
        storeHostRank: w.storeHostRank,
      });
      try {
        await g.connect();
      } catch (e) {
        g.close();
        throw e;
      }
      pg.engine = new GlooEngine(g, pg.size);
    } else {
      pg.engine = await createNcclEngine({ store: w.store, name, rank: pg.rank, size: pg.size, ranks, timeoutMs });
    }
  } catch (e) {
    throw toCollectiveError(e, globalRank, 'rendezvous');
  }
  w.groups.push(pg);
  return pg;
}

/** The world's state. @throws Error when the default group is not initialised @internal */
export function worldState(): WorldState {
  if (!world) throw new Error('the default process group is not initialised: call initProcessGroup() first');
  return world;
}

/** The default group (the world). @throws Error when it is not initialised */
export function getWorld(): ProcessGroup {
  return worldState().group;
}

/** Whether the default group is initialised. */
export function isInitialized(): boolean {
  return world !== undefined;
}

/**
 * Creates several groups at once: every rank of the world calls it with the same lists (it is
 * collective over the world, like torch's `new_group`); each process connects only the groups it
 * belongs to. @internal
 */
export async function newGroups(lists: number[][], kind: string, opts: NewGroupOptions = {}): Promise<ProcessGroup[]> {
  const w = worldState();
  const size = w.group.size;
  for (const ranks of lists) {
    const seen = new Set<number>();
    for (const r of ranks) {
      if (!Number.isInteger(r) || r < 0 || r >= size) throw new RangeError(`newGroup: rank ${r} is not in the world [0, ${size})`);
      if (seen.has(r)) throw new RangeError(`newGroup: rank ${r} appears twice in [${ranks.join(',')}]`);
      seen.add(r);
    }
    if (ranks.length === 0) throw new RangeError('newGroup: a group needs at least one rank');
  }
  const id = w.counter++;
  const backend = opts.backend ?? w.group.backend;
  const timeoutMs = opts.timeoutMs ?? w.group.timeoutMs;
  const me = w.group.globalRank;
  const epoch = w.epoch === 1 ? '' : `.${w.epoch}`;
  return Promise.all(lists.map((ranks, i) => makeGroup(w, `${kind}${id}${epoch}/${i}`, ranks, me, backend, timeoutMs)));
}

/**
 * A new group of the given global ranks (sorted, as torch does). Collective over the world: every
 * rank calls it, members or not; a non-member gets a group with `rank` -1 that refuses collectives.
 *
 * @param ranks - global ranks
 * @param opts - backend and timeout (default: the world's)
 */
export async function newGroup(ranks: number[], opts: NewGroupOptions = {}): Promise<ProcessGroup> {
  const [g] = await newGroups([[...ranks].sort((a, b) => a - b)], 'g', opts);
  return g;
}

/**
 * Frees every group, the store connection and (on the rank hosting it) the store, after waiting a
 * little (at most 10 s) for the other ranks to finish with it.
 */
export async function destroyProcessGroup(): Promise<void> {
  const w = world;
  if (!w) return;
  world = undefined;
  for (const g of w.groups.reverse()) {
    try {
      g.engine?.close();
    } finally {
      g.engine = undefined;
    }
  }
  const me = w.group.globalRank;
  try {
    await w.store.unregister();
    await w.store.set(`__falcon/destroyed/${me}`, '1');
    if (w.server) {
      // Every other rank has either destroyed its group or died (at most 10 s).
      const deadline = Date.now() + Math.min(10_000, w.group.timeoutMs);
      let left = w.group.ranks.filter((r) => r !== me);
      while (left.length && Date.now() < deadline) {
        const still: number[] = [];
        for (const r of left) if (!(await w.store.check([`__falcon/destroyed/${r}`])) && !(await w.store.check([deadKey(r)]))) still.push(r);
        left = still;
        if (left.length) await new Promise((r) => setTimeout(r, 20));
      }
    }
  } catch {
    // the store is gone (its host exited): nothing left to tidy
  }
  w.store.close();
  await w.server?.close();
}
