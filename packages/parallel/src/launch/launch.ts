/**
 * `launch()`: torchrun's behaviour in Node. Starts `nprocPerNode` worker processes of a command on
 * this node with the process-group environment ({@link workerEnv}), hosts the rendezvous store on
 * node 0 (see {@link LaunchOptions.hostStore}), copies their output with a rank
 * prefix, forwards SIGINT/SIGTERM/SIGHUP to them, and when one fails (non-zero exit or a signal)
 * stops the others (SIGTERM, then SIGKILL after `graceMs`) and reports which rank failed and how.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Writable } from 'node:stream';
import { serveStore } from '../store/server.js';
import type { StoreServerHandle } from '../store/server.js';
import { freePort } from './free_port.js';
import { pipeWithPrefix } from './line_prefix.js';
import { workerEnv } from './worker_env.js';

/** What to start and where it sits in the job. */
export interface LaunchOptions {
  /** Worker processes on this node (one per GPU, or per CPU share). */
  nprocPerNode: number;
  /** Nodes in the job (default 1). */
  nnodes?: number;
  /** This node's index (default 0). */
  nodeRank?: number;
  /** Address of node 0, whose launcher hosts the rendezvous store (default 127.0.0.1). */
  masterAddr?: string;
  /** Port of the rendezvous store; default: a free port on a single node, 29500 with several nodes. */
  masterPort?: number;
  /** The program to run (e.g. `process.execPath`). */
  command: string;
  /** Its arguments. */
  args?: string[];
  /** The workers' base environment (default `process.env`); the launcher's variables are added to it. */
  env?: NodeJS.ProcessEnv;
  /** Working directory of the workers (default the current one). */
  cwd?: string;
  /** Prefix every output line with `[rank R]: ` (default true). */
  prefix?: boolean;
  /** Milliseconds between SIGTERM and SIGKILL when stopping workers (default 5000). */
  graceMs?: number;
  /** Where the workers' stdout goes (default `process.stdout`). */
  stdout?: Writable;
  /** Where the workers' stderr and the launcher's messages go (default `process.stderr`). */
  stderr?: Writable;
  /** Forward SIGINT, SIGTERM and SIGHUP received by this process to the workers (default true). */
  forwardSignals?: boolean;
  /**
   * Host the rendezvous store in the launcher of node 0 at `masterPort`, as torchrun's agent does
   * (default true; give every node the same value). The workers get `FALCON_STORE_EXTERNAL=1`, so the
   * store outlives any rank: a rank 0 that dies is named like any other. With false, rank 0 hosts it.
   */
  hostStore?: boolean;
}

/** How one worker ended. */
export interface WorkerExit {
  /** Global rank. */
  rank: number;
  /** Rank on this node. */
  localRank: number;
  /** Its process id. */
  pid: number;
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
  /** True when the launcher itself stopped it (after another rank failed, or on a forwarded signal). */
  stoppedByLauncher: boolean;
}

/** What {@link launch} returns once every worker has ended. */
export interface LaunchResult {
  /** 0 when every worker exited 0; else the first failure's exit code, or 128 + its signal number. */
  exitCode: number;
  /** Every worker's end, by local rank. */
  workers: WorkerExit[];
  /**
   * The worker that failed first on its own (not stopped by the launcher), if any. When several
   * fail close together (a rank dies and its peers' collectives then fail), one killed by a signal
   * is taken as the cause, else the first whose exit was seen.
   */
  failed?: WorkerExit;
  /** Every worker that failed on its own, in the order their exits were seen. */
  failures: WorkerExit[];
  /** The signal this process received and forwarded, if any. */
  interrupted?: NodeJS.Signals;
  /** One line describing a failure (empty when all succeeded), e.g. `rank 1 (local rank 1, pid 42) exited with code 3`. */
  message: string;
  /** The MASTER_PORT the workers got. */
  masterPort: number;
}

function int(v: number | undefined, name: string, min: number, fallback: number): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < min) throw new Error(`launch: ${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
}

/** Describe how a worker ended, e.g. `rank 1 (local rank 1, pid 42) exited with code 3`. */
export function describeExit(w: WorkerExit): string {
  const how = w.signal ? `was killed by ${w.signal}` : `exited with code ${w.code}`;
  return `rank ${w.rank} (local rank ${w.localRank}, pid ${w.pid}) ${how}`;
}

function signalCode(sig: NodeJS.Signals): number {
  return 128 + ((constants.signals as Record<string, number>)[sig] ?? 0);
}

/** Send `sig` to a worker's whole process group (it may be a wrapper with children of its own). */
function kill(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Start the workers of this node and wait for all of them.
 * @param options - what to run, how many, and the job's layout
 * @returns how every worker ended; never rejects for a failing worker (see `exitCode`)
 * @throws before starting anything, when an option is invalid or the command cannot be started
 */
export async function launch(options: LaunchOptions): Promise<LaunchResult> {
  const nproc = int(options.nprocPerNode, 'nprocPerNode', 1, 1);
  const nnodes = int(options.nnodes, 'nnodes', 1, 1);
  const nodeRank = int(options.nodeRank, 'nodeRank', 0, 0);
  if (nodeRank >= nnodes) throw new Error(`launch: nodeRank ${nodeRank} is not below nnodes ${nnodes}`);
  if (!options.command) throw new Error('launch: no command to run');
  const masterAddr = options.masterAddr ?? '127.0.0.1';
  let masterPort = options.masterPort;
  if (nnodes > 1 && masterPort === 0) throw new Error('launch: with several nodes every node needs the same explicit masterPort (0 picks a port on one node only)');
  if (masterPort !== undefined && !(Number.isInteger(masterPort) && masterPort >= 0 && masterPort <= 65535)) throw new Error(`launch: masterPort must be an integer in [0, 65535], got ${masterPort}`);
  const hostStore = options.hostStore ?? true;
  let store: StoreServerHandle | undefined;
  if (hostStore && nodeRank === 0) {
    const want = masterPort ?? (nnodes > 1 ? 29500 : 0);
    store = await serveStore({ host: '0.0.0.0', port: want }).catch((e: Error) => {
      throw new Error(`launch: the rendezvous store cannot listen on 0.0.0.0:${want} (${e.message}); choose another --master-port`);
    });
    masterPort = store.port;
  } else if (masterPort === undefined || masterPort === 0) {
    masterPort = nnodes > 1 ? 29500 : await freePort(masterAddr === 'localhost' ? '127.0.0.1' : masterAddr);
  }
  const graceMs = options.graceMs ?? 5000;
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const prefix = options.prefix ?? true;

  const children: ChildProcess[] = [];
  const exits: (WorkerExit | undefined)[] = new Array(nproc).fill(undefined);
  const piped: Promise<void>[] = [];
  const stopped = new Map<number, NodeJS.Signals>();
  const failures: WorkerExit[] = [];
  let interrupted: NodeJS.Signals | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  const stopAll = (sig: NodeJS.Signals) => {
    children.forEach((c, i) => {
      if (exits[i]) return;
      stopped.set(i, sig);
      kill(c, sig);
    });
    killTimer ??= setTimeout(
      () =>
        children.forEach((c, i) => {
          if (exits[i]) return;
          stopped.set(i, 'SIGKILL');
          kill(c, 'SIGKILL');
        }),
      graceMs,
    );
  };

  const onSignal = (sig: NodeJS.Signals) => {
    interrupted ??= sig;
    stopAll(sig);
  };
  const forwarded: NodeJS.Signals[] = options.forwardSignals === false ? [] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of forwarded) process.on(s, onSignal);
  // the workers run in process groups of their own: if this process exits while they still run
  // (an exception, process.exit), take them along
  const onExit = () => children.forEach((c) => kill(c, 'SIGKILL'));
  process.once('exit', onExit);

  let allExited!: () => void;
  const finished = new Promise<void>((r) => (allExited = r));
  let remaining = nproc;
  let startError: Error | undefined;

  for (let localRank = 0; localRank < nproc; localRank++) {
    const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env), ...workerEnv({ localRank, nprocPerNode: nproc, nodeRank, nnodes, masterAddr, masterPort: masterPort! }) };
    if (hostStore) env.FALCON_STORE_EXTERNAL = '1';
    const rank = nodeRank * nproc + localRank;
    const child = spawn(options.command, options.args ?? [], { env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.push(child);
    const tag = prefix ? `[rank ${rank}]: ` : '';
    piped.push(pipeWithPrefix(child.stdout!, stdout, tag), pipeWithPrefix(child.stderr!, stderr, tag));
    child.once('error', (e) => {
      // spawn failed (no such program): record it as this worker's failure
      startError ??= e;
      if (!exits[localRank]) {
        exits[localRank] = { rank, localRank, pid: child.pid ?? -1, code: 127, signal: null, stoppedByLauncher: false };
        failures.push(exits[localRank]!);
        stopAll('SIGTERM');
        if (--remaining === 0) allExited();
      }
    });
    child.once('exit', (code, signal) => {
      if (exits[localRank]) return;
      // stopped by the launcher: signalled by it, and ended by exiting or by the signal it sent last
      // (one that died of another signal, e.g. its own SIGKILL just before our SIGTERM, failed on its own)
      const sent = stopped.get(localRank);
      const byUs = sent !== undefined && (signal === null || signal === sent);
      const w: WorkerExit = { rank, localRank, pid: child.pid ?? -1, code, signal, stoppedByLauncher: byUs };
      exits[localRank] = w;
      if ((code !== 0 || signal) && !w.stoppedByLauncher) {
        failures.push(w);
        stopAll('SIGTERM');
      }
      if (--remaining === 0) allExited();
    });
  }

  await finished;
  await Promise.all(piped);
  await store?.close();
  if (killTimer) clearTimeout(killTimer);
  for (const s of forwarded) process.off(s, onSignal);
  process.off('exit', onExit);

  const workers = exits as WorkerExit[];
  let exitCode = 0;
  let message = '';
  const failed = failures.find((w) => w.signal) ?? failures[0];
  if (failed) {
    exitCode = failed.signal ? signalCode(failed.signal) : failed.code || 1;
    const also = failures.filter((w) => w !== failed);
    const others = workers.filter((w) => w.stoppedByLauncher).length;
    message =
      `${describeExit(failed)}${startError ? ` (${startError.message})` : ''}` +
      (also.length ? `; then ${also.map((w) => `rank ${w.rank} ${w.signal ? `was killed by ${w.signal}` : `exited with code ${w.code}`}`).join(', ')}` : '') +
      (others ? `; stopped the other ${others} rank${others > 1 ? 's' : ''}` : '');
  } else if (interrupted) {
    exitCode = signalCode(interrupted);
    message = `received ${interrupted}; stopped ${nproc} rank${nproc > 1 ? 's' : ''}`;
  } else {
    const bad = workers.find((w) => w.code !== 0 || w.signal);
    if (bad) {
      exitCode = bad.signal ? signalCode(bad.signal) : bad.code || 1;
      message = describeExit(bad);
    }
  }
  return { exitCode, workers, failed, failures, interrupted, message, masterPort };
}
