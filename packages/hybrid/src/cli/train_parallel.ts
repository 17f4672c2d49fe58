/**
 * The data-parallel side of `falcon train`: `--nproc-per-node N` re-runs the command in N worker
 * processes through the launcher; in a worker (WORLD_SIZE set) `--dp N` joins the process group and
 * trains with {@link DataParallelTrainer}; `--zero 1` shards AdamW's state, `--bucket-mb` sets the
 * gradient bucket size. `--batch-size` stays the global batch.
 */
import { destroyProcessGroup, initProcessGroup } from '@falcon/parallel';
import type { FalconH1ForCausalLM } from '../model.js';
import type { TokenBatches } from '../train/data.js';
import { DataParallelTrainer } from '../train/data_parallel_trainer.js';
import { Trainer } from '../train/trainer.js';
import type { TrainOptions } from '../train/trainer.js';
import { UsageError } from './command.js';
import { launchSelf } from './launch.js';

/** The options `falcon train` adds for data parallelism (node:util parseArgs declarations). */
export const DP_OPTIONS = {
  'nproc-per-node': { type: 'string' },
  dp: { type: 'string' },
  zero: { type: 'string' },
  'bucket-mb': { type: 'string' },
} as const;

/** Their lines of `falcon train --help`. */
export const DP_HELP = [
  '',
  'Data parallelism (the same model as without it: --batch-size stays the global batch):',
  '  --nproc-per-node N   start N worker processes on this node (through falcon launch) and train',
  '                       data-parallel over them; every output line is prefixed with its rank',
  '  --dp N               data-parallel ranks (default: WORLD_SIZE of the job, 1 alone); must be the',
  '                       number of processes; --batch-size must be divisible by it',
  '  --zero 0|1           1: ZeRO-1, AdamW state sharded across the ranks (default 0: replicated)',
  '  --bucket-mb X        gradient all-reduce bucket size in MiB (default 25)',
  '  A rank that dies or hangs makes the others fail within $FALCON_PG_TIMEOUT_MS (default 30 min).',
  '  Several machines: falcon launch --nnodes M --node-rank R --master-addr A --master-port P',
  "  --nproc-per-node N -- falcon train --dp M·N ...   (see 'falcon launch --help')",
].join('\n');

/** What the rest of `falcon train` needs from the data-parallel setup. */
export interface DataParallelSetup {
  /** Set when this process launched the workers: their exit code, and nothing else is to be done. */
  launched?: number;
  /** Make the trainer (data-parallel or plain). */
  trainer(model: FalconH1ForCausalLM, data: TokenBatches, options: TrainOptions, dir: string, info?: Record<string, unknown>): Trainer;
  /** Whether this process prints progress and results (rank 0). */
  reports: boolean;
  /** Leave the process group. */
  close(): Promise<void>;
  /** Appended to the final line, e.g. ` (data-parallel over 2 ranks)`. */
  describe: string;
}

function count(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got '${v}'`);
  return n;
}

/** argv without `--nproc-per-node N` / `--nproc-per-node=N`. */
function withoutNproc(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--nproc-per-node') i++;
    else if (!argv[i].startsWith('--nproc-per-node=')) out.push(argv[i]);
  }
  return out;
}

/**
 * Read the data-parallel options; launch the workers (`--nproc-per-node`) or join the job's
 * process group (in a worker with `--dp` > 1).
 * @param o - the parsed options of `falcon train`
 * @param argv - its raw arguments (passed on to the workers)
 * @throws UsageError for inconsistent options (before any process starts)
 */
export async function dataParallelSetup(o: Record<string, unknown>, argv: string[]): Promise<DataParallelSetup> {
  const nproc = count(o['nproc-per-node'], 'nproc-per-node');
  const dpArg = count(o.dp, 'dp');
  const zero = o.zero === undefined ? 0 : Number(o.zero);
  if (zero !== 0 && zero !== 1) throw new UsageError(`--zero must be 0 or 1, got '${o.zero}'`);
  const bucketMb = o['bucket-mb'] === undefined ? undefined : Number(o['bucket-mb']);
  if (bucketMb !== undefined && !(bucketMb > 0)) throw new UsageError(`--bucket-mb must be a positive number, got '${o['bucket-mb']}'`);
  const worldEnv = process.env.WORLD_SIZE;
  const checkBatch = (dp: number) => {
    const batch = o['batch-size'] === undefined ? 8 : Number(o['batch-size']);
    if (!o.resume && Number.isInteger(batch) && batch % dp !== 0) throw new UsageError(`--batch-size ${batch} (the global batch) must be divisible by --dp ${dp}`);
  };

  if (nproc !== undefined) {
    if (worldEnv !== undefined) throw new UsageError('--nproc-per-node: this process was started by a launcher already (WORLD_SIZE is set); leave --nproc-per-node out');
    const dp = dpArg ?? nproc;
    if (dp !== nproc) throw new UsageError(`--dp ${dp} must equal --nproc-per-node ${nproc} (data parallelism is the only parallelism of falcon train)`);
    checkBatch(dp);
    const args = withoutNproc(argv);
    if (dpArg === undefined) args.push('--dp', String(dp));
    return { launched: await launchSelf(['train', ...args], nproc), trainer: () => undefined as never, reports: false, close: async () => {}, describe: '' };
  }

  const world = worldEnv === undefined ? 1 : Number(worldEnv);
  if (!Number.isInteger(world) || world < 1) throw new Error(`WORLD_SIZE must be a positive integer, got '${worldEnv}'`);
  const dp = dpArg ?? world;
  if (dp !== world) {
    throw new UsageError(`--dp ${dp} needs ${dp} processes but this job has ${world}: run 'falcon train --nproc-per-node ${dp} --dp ${dp} ...' or start it under 'falcon launch --nproc-per-node ${dp}'`);
  }
  if (dp === 1) {
    if (o.zero !== undefined || bucketMb !== undefined) throw new UsageError('--zero and --bucket-mb apply to data-parallel runs (--dp > 1)');
    return { trainer: (m, d, opts, dir, info) => new Trainer(m, d, opts, dir, info), reports: true, close: async () => {}, describe: '' };
  }
  checkBatch(dp);
  const group = await initProcessGroup({ backend: o.backend === 'cuda' ? 'nccl' : 'gloo' });
  return {
    trainer: (m, d, opts, dir, info) => new DataParallelTrainer(m, d, opts, dir, { group, zero: zero as 0 | 1, bucketMb }, info),
    reports: group.rank === 0,
    close: () => destroyProcessGroup(),
    describe: ` (data-parallel over ${dp} ranks${zero ? ', ZeRO-1' : ''})`,
  };
}
