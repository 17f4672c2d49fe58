/**
 * The launcher's command line, shared by `falcon launch` and anything else that starts workers:
 * `[--nproc-per-node N] [--nnodes M --node-rank R --master-addr A --master-port P] [--grace-ms T]
 * [--no-prefix] [--] <command> [args…]`, torchrun's option names.
 */
import type { LaunchOptions } from './launch.js';

/** A mistake in the launcher's arguments. */
export class LaunchArgsError extends Error {
  /** @param message - what is wrong, in one line */
  constructor(message: string) {
    super(message);
    this.name = 'LaunchArgsError';
  }
}

/** The launcher's options, for `--help` texts. */
export const LAUNCH_OPTIONS_HELP = [
  '  --nproc-per-node N   worker processes on this node (default 1)',
  '  --nnodes M           nodes in the job (default 1)',
  '  --node-rank R        this node\'s index, 0 … M−1 (default 0)',
  '  --master-addr A      address of node 0, whose launcher hosts the rendezvous store (default 127.0.0.1)',
  '  --master-port P      the store\'s port (default: a free port on one node; 29500 with several nodes)',
  '  --grace-ms T         when a rank fails, SIGTERM the others and SIGKILL them after T ms (default 5000)',
  '  --no-prefix          copy the workers\' output without the "[rank R]: " line prefix',
].join('\n');

const VALUED: Record<string, keyof LaunchOptions> = {
  '--nproc-per-node': 'nprocPerNode',
  '--nproc_per_node': 'nprocPerNode',
  '--nnodes': 'nnodes',
  '--node-rank': 'nodeRank',
  '--node_rank': 'nodeRank',
  '--master-addr': 'masterAddr',
  '--master_addr': 'masterAddr',
  '--master-port': 'masterPort',
  '--master_port': 'masterPort',
  '--grace-ms': 'graceMs',
};

const INTEGER: Record<string, number> = { nprocPerNode: 1, nnodes: 1, nodeRank: 0, masterPort: 0, graceMs: 0 };

/**
 * Parse the launcher's arguments. The command starts after `--` or at the first argument that is not
 * an option; a command ending in `.js`, `.mjs` or `.cjs` is run with this Node (`process.execPath`).
 * @param argv - e.g. `['--nproc-per-node', '2', '--', 'node', 'train.js']`
 * @returns the options for {@link launch} (command and args included)
 * @throws LaunchArgsError naming the bad option or value, or when no command is given
 */
export function parseLaunchArgs(argv: string[]): LaunchOptions {
  const o: Partial<Record<keyof LaunchOptions, unknown>> = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-')) break;
    if (a === '--no-prefix') {
      o.prefix = false;
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const key = VALUED[name];
    if (!key) throw new LaunchArgsError(`unknown option '${name}'`);
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new LaunchArgsError(`${name} needs a value`);
    if (key in INTEGER) {
      const n = Number(value);
      if (!/^\d+$/.test(value) || n < INTEGER[key]) throw new LaunchArgsError(`${name} must be an integer ≥ ${INTEGER[key]}, got '${value}'`);
      if (key === 'masterPort' && n > 65535) throw new LaunchArgsError(`${name} must be at most 65535, got '${value}'`);
      o[key] = n;
    } else o[key] = value;
  }
  const cmd = argv.slice(i);
  if (!cmd.length) throw new LaunchArgsError('no command to launch (give it after --)');
  const nnodes = (o.nnodes as number | undefined) ?? 1;
  const nodeRank = (o.nodeRank as number | undefined) ?? 0;
  if (nodeRank >= nnodes) throw new LaunchArgsError(`--node-rank ${nodeRank} must be below --nnodes ${nnodes}`);
  if (nnodes > 1 && o.masterAddr === undefined) throw new LaunchArgsError('--master-addr is required with several nodes (the address of node 0)');
  const [command, ...args] = /\.(c|m)?js$/.test(cmd[0]) ? [process.execPath, ...cmd] : cmd;
  return { nprocPerNode: 1, ...(o as Partial<LaunchOptions>), command, args };
}
