/**
 * The model-parallel side of `falcon train`: `--tp`, `--cp`, `--pp` (with `--dp`, their product the
 * number of processes), `--sp`, `--microbatches`, `--cp-mamba-mode` and `--router` (the head split,
 * recorded in the checkpoints). `--nproc-per-node N` re-runs the command in N
 * worker processes; in a worker the ranks form Megatron's grid (`initializeModelParallel`: tp
 * fastest, then cp, dp, pp) and train with {@link ComposedTrainer}, saving distributed checkpoints
 * into the run directory (`falcon export --from DIR --out HF_DIR` makes one Hugging Face checkpoint
 * of it for `falcon generate`).
 */
import { barrier, destroyProcessGroup, initializeModelParallel, initProcessGroup } from '@falcon/parallel';
import { hybridConfig } from '../config.js';
import type { HybridConfig } from '../config.js';
import type { HeadSplit } from '../model_parallel/tensor_parallel/layout.js';
import { ComposedFalconH1 } from '../model_parallel/compose/model.js';
import { ComposedTrainer } from '../model_parallel/compose/trainer.js';
import type { ContextParallelMambaMode } from '../model_parallel/context_parallel/context_parallel_model.js';
import { TokenBatches } from '../train/data.js';
import { sha256 } from '../train/durable.js';
import { readDistributedCheckpoint } from '../train/distributed_checkpoint/manifest.js';
import { lockRunDirectory, removeRun } from '../train/run_directory.js';
import type { StepMetrics, TrainOptions } from '../train/trainer.js';
import { UsageError } from './command.js';
import { chooseHeadSplits } from './head_splits.js';
import type { ChosenHeadSplit, RecordedHeadSplit } from './head_splits.js';
import { launchSelf } from './launch.js';

/** The options `falcon train` adds for model parallelism (node:util parseArgs declarations). */
export const MP_OPTIONS = {
  tp: { type: 'string' },
  cp: { type: 'string' },
  pp: { type: 'string' },
  sp: { type: 'boolean' },
  microbatches: { type: 'string' },
  'cp-mamba-mode': { type: 'string' },
  router: { type: 'boolean' },
} as const;

/** The Mamba-2 modes of `--cp-mamba-mode`. */
const MAMBA_MODES: readonly ContextParallelMambaMode[] = ['state-passing', 'all-to-all'];

/** Their lines of `falcon train --help`. */
export const MP_HELP = [
  '',
  'Model parallelism (any product TP × CP × PP × DP of the processes; the same model as one process):',
  '  --tp N               tensor-parallel ranks (heads, MLP and vocabulary split; default 1)',
  '  --cp N               context-parallel ranks (each sequence split in 2·N chunks; --seqlen divisible by 2·N)',
  '  --pp N               pipeline stages (layers split evenly; 1F1B schedule; default 1)',
  '  --dp N               with any of them: data-parallel replicas (default: processes / (tp·cp·pp))',
  '  --sp                 sequence parallelism under --tp (--seqlen / cp divisible by tp)',
  '  --microbatches M     microbatches per replica and step (default 1; the batch divides into dp·M)',
  '  --cp-mamba-mode M    Mamba-2 under --cp: state-passing (default; states passed between the chunks)',
  '                       or all-to-all (heads exchanged; each TP rank\'s Mamba-2 heads divisible by cp)',
  '  --router             under --tp: assign heads to TP ranks by the router\'s cost model at --seqlen',
  '                       (needed when a layer\'s head counts do not divide by --tp, e.g. --tp 3, 8 heads)',
  '  Ranks are Megatron\'s: rank = tp + TP·(cp + CP·(dp + DP·pp)). Checkpoints are distributed (each',
  '  rank its shards, layout.json last, with the head split); falcon export --from DIR --out HF makes one.',
  '  --resume DIR continues such a run under any layout (the checkpoint is re-sharded on loading); under',
  '  the same --tp it keeps the run\'s head split and Mamba-2 mode unless --router / --cp-mamba-mode is given.',
  '  Example: falcon train --tp 2 --cp 2 --pp 2 --dp 1 --sp --microbatches 4 --nproc-per-node 8',
].join('\n');

/** The layout read from the flags. */
export interface ModelParallelFlags {
  tp: number;
  cp: number;
  pp: number;
  /** Undefined: the rest of the processes. */
  dp?: number;
  sp: boolean;
  microbatches: number;
  /** `--cp-mamba-mode` (undefined: a resumed run's, else state passing). */
  mambaMode?: ContextParallelMambaMode;
  /** `--router`: the routed head split. */
  router: boolean;
}

function count(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got '${v}'`);
  return n;
}

/**
 * The model-parallel flags, or undefined when none is given (then `falcon train` is plain or data-parallel).
 * @throws UsageError for a malformed value
 */
export function modelParallelFlags(o: Record<string, unknown>): ModelParallelFlags | undefined {
  const mode = o['cp-mamba-mode'];
  if (o.tp === undefined && o.cp === undefined && o.pp === undefined && !o.sp && o.microbatches === undefined && mode === undefined && !o.router) return undefined;
  if (mode !== undefined && !MAMBA_MODES.includes(mode as ContextParallelMambaMode)) throw new UsageError(`--cp-mamba-mode must be ${MAMBA_MODES.join(' or ')}, got '${String(mode)}'`);
  const f = {
    tp: count(o.tp, 'tp') ?? 1, cp: count(o.cp, 'cp') ?? 1, pp: count(o.pp, 'pp') ?? 1, dp: count(o.dp, 'dp'), sp: !!o.sp, microbatches: count(o.microbatches, 'microbatches') ?? 1,
    mambaMode: mode as ContextParallelMambaMode | undefined, router: !!o.router,
  };
  if (f.sp && f.tp === 1) throw new UsageError('--sp (sequence parallelism) needs --tp 2 or more');
  if (f.router && f.tp === 1) throw new UsageError('--router (the head router) assigns heads to tensor-parallel ranks: it needs --tp 2 or more');
  if (mode !== undefined && f.cp === 1) throw new UsageError('--cp-mamba-mode chooses how Mamba-2 runs under context parallelism: it needs --cp 2 or more');
  return f;
}

/**
 * Check the layout against the processes, the model and the batch (before any process starts).
 * @param world - the number of processes (`--nproc-per-node`, or the job's WORLD_SIZE)
 * @returns the data-parallel size
 * @throws UsageError naming the problem
 */
export function checkModelParallel(f: ModelParallelFlags, world: number, config: HybridConfig, data: { batchSize: number; seqlen: number }, o: Record<string, unknown>): number {
  const mp = f.tp * f.cp * f.pp;
  const dp = f.dp ?? world / mp;
  if (!Number.isInteger(dp) || f.tp * f.cp * f.pp * dp !== world) throw new UsageError(`--tp ${f.tp} × --cp ${f.cp} × --pp ${f.pp} × --dp ${f.dp ?? '?'} must equal the number of processes (${world}); set --nproc-per-node to the product`);
  const b = config.base;
  if (b.num_hidden_layers < f.pp) throw new UsageError(`--pp ${f.pp}: the model has only ${b.num_hidden_layers} layers`);
  if (b.vocab_size < f.tp) throw new UsageError(`--tp ${f.tp}: the vocabulary (${b.vocab_size}) is smaller`);
  if (data.batchSize % (dp * f.microbatches) !== 0) throw new UsageError(`--batch-size ${data.batchSize} must be divisible by dp ${dp} × --microbatches ${f.microbatches}`);
  if (f.cp > 1 && data.seqlen % (2 * f.cp) !== 0) throw new UsageError(`--seqlen ${data.seqlen} must be divisible by 2·cp = ${2 * f.cp} (two mirrored chunks per context-parallel rank)`);
  if (f.cp > 1 && data.seqlen / (2 * f.cp) < b.mamba_d_conv - 1) throw new UsageError(`--seqlen ${data.seqlen}: each of the 2·cp chunks must hold at least mamba_d_conv − 1 = ${b.mamba_d_conv - 1} tokens`);
  if (f.sp && (data.seqlen / f.cp) % f.tp !== 0) throw new UsageError(`--sp: each context-parallel rank's ${data.seqlen / f.cp} positions must be divisible by --tp ${f.tp}`);
  if ((o.accumulate ?? '1') !== '1') throw new UsageError('--accumulate: under model parallelism the microbatches are the accumulation (use --microbatches)');
  if (o.zero !== undefined) throw new UsageError('--zero applies to plain data-parallel runs (without --tp/--cp/--pp)');
  return dp;
}

/**
 * The run's head split and Mamba-2 mode (checked; before any process starts).
 * @param dp - the data-parallel size
 * @param recorded - a resumed run's record
 * @throws UsageError naming the problem and the flag to use
 */
export function modelParallelSplit(f: ModelParallelFlags, dp: number, config: HybridConfig, data: { batchSize: number; seqlen: number }, backend: string, recorded?: RecordedHeadSplit): ChosenHeadSplit & { mambaMode: ContextParallelMambaMode } {
  const mambaMode = f.mambaMode ?? recorded?.mambaMode ?? 'state-passing';
  const batch = data.batchSize / (dp * f.microbatches);
  return { ...chooseHeadSplits(config, { tp: f.tp, cp: f.cp, router: f.router, mambaMode, seqlen: data.seqlen, batch, backend, recorded }), mambaMode };
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

/** What `falcon train` passes to {@link trainModelParallel}. */
export interface ModelParallelRun {
  config: HybridConfig;
  data: TokenBatches;
  options: TrainOptions;
  dir: string;
  seed: number;
  overwrite: boolean;
  /** Continue from the run directory's latest distributed checkpoint. */
  resume: boolean;
  /** Recorded in the checkpoints (config source, data path). */
  info: Record<string, unknown>;
  backend: string;
  /** What a resumed run recorded of its head split and Mamba-2 mode. */
  recorded?: RecordedHeadSplit;
  /** Starts the backend (in each worker, after the checks). */
  init(): Promise<unknown>;
  /** Called on rank 0 after every step. */
  onStep(m: StepMetrics): void;
}

/**
 * Launch the workers (`--nproc-per-node`), or in a worker join the grid and train.
 * @returns the exit code, and on the reporting rank the metrics of every step
 * @throws UsageError for a layout that does not fit (before any process starts)
 */
export async function trainModelParallel(f: ModelParallelFlags, o: Record<string, unknown>, argv: string[], run: ModelParallelRun): Promise<{ code: number; metrics?: StepMetrics[]; describe?: string }> {
  const nproc = count(o['nproc-per-node'], 'nproc-per-node');
  const worldEnv = process.env.WORLD_SIZE;
  if (nproc !== undefined) {
    if (worldEnv !== undefined) throw new UsageError('--nproc-per-node: this process was started by a launcher already (WORLD_SIZE is set); leave --nproc-per-node out');
    const dp = checkModelParallel(f, nproc, run.config, run.data, o);
    modelParallelSplit(f, dp, run.config, run.data, run.backend, run.recorded);
    return { code: await launchSelf(['train', ...withoutNproc(argv)], nproc) };
  }
  if (worldEnv === undefined) throw new UsageError(`--tp/--cp/--pp/--sp/--microbatches run in worker processes: add --nproc-per-node ${f.tp * f.cp * f.pp * (f.dp ?? 1)}, or start the command under falcon launch`);
  const dp = checkModelParallel(f, Number(worldEnv), run.config, run.data, o);
  const split = modelParallelSplit(f, dp, run.config, run.data, run.backend, run.recorded);
  await run.init();
  await initProcessGroup({ backend: run.backend === 'cuda' ? 'nccl' : 'gloo' });
  try {
    const groups = await initializeModelParallel({ tp: f.tp, cp: f.cp, pp: f.pp, dp });
    const rank0 = groups.coords.tp === 0 && groups.coords.cp === 0 && groups.coords.dp === 0 && groups.coords.pp === 0;
    let unlock: (() => Promise<void>) | undefined;
    if (rank0) {
      unlock = await lockRunDirectory(run.dir);
      if (run.overwrite) await removeRun(run.dir);
    }
    await barrier().wait();
    try {
      const model = new ComposedFalconH1(run.config, groups, { seed: run.seed, sequenceParallel: f.sp, splits: split.splits, mambaMode: split.mambaMode });
      const trainer = new ComposedTrainer(model, run.data, run.options, { microbatches: f.microbatches }, run.dir, { ...run.info, router: split.source === 'routed' || (split.source === 'recorded' && !!run.recorded?.router) });
      if (run.resume) await trainer.restore();
      const metrics = await trainer.run((m) => rank0 && run.onStep(m));
      model.dispose();
      const heads = f.tp > 1 && split.source !== 'even' ? `, ${split.source === 'routed' ? 'routed' : "the run's"} head split` : '';
      const describe = ` (tp ${f.tp} × cp ${f.cp} × pp ${f.pp} × dp ${dp}${f.sp ? ', sequence-parallel' : ''}${f.cp > 1 ? `, Mamba-2 ${split.mambaMode}` : ''}${heads}, ${f.microbatches} microbatches)`;
      return { code: 0, ...(rank0 ? { metrics, describe } : {}) };
    } finally {
      await unlock?.();
    }
  } finally {
    await destroyProcessGroup();
  }
}

/** What {@link resumeModelParallel} reads from a run's latest distributed checkpoint. */
export interface ModelParallelResume {
  config: HybridConfig;
  data: TokenBatches;
  options: TrainOptions;
  info: Record<string, unknown>;
  /** The step it continues from. */
  step: number;
  /** Its head split and Mamba-2 mode (the split is kept when resumed under the same --tp). */
  recorded: RecordedHeadSplit;
}

/**
 * The run to continue from a run directory's latest distributed checkpoint; flags given must
 * agree with the saved run (`steps` and `saveEvery` may change).
 * @param readTokens - reads the data file
 * @throws UsageError naming the contradictions, or the directory's problem
 */
export async function resumeModelParallel(
  dir: string,
  given: { batchSize?: number; seqlen?: number; seed?: number; lr?: number; data?: string; steps?: number; saveEvery?: number },
  readTokens: (path: string) => Promise<Int32Array>,
): Promise<ModelParallelResume> {
  const ckpt = await readDistributedCheckpoint(dir).catch((e: Error) => {
    throw new UsageError(`--resume ${dir}: ${e.message}`);
  });
  const saved = ckpt.manifest.state;
  const savedOpts = saved.options as unknown as TrainOptions;
  const savedInfo = (saved.info ?? {}) as { data?: string; splits?: HeadSplit[]; router?: boolean; mambaMode?: ContextParallelMambaMode };
  const contradictions: string[] = [];
  const differs = (flag: string, v: unknown, was: unknown) => {
    if (v !== undefined && v !== was) contradictions.push(`--${flag} ${v} (the run's: ${was})`);
  };
  differs('batch-size', given.batchSize, saved.data.batchSize);
  differs('seqlen', given.seqlen, saved.data.seqlen);
  differs('seed', given.seed, saved.data.seed);
  differs('lr', given.lr, savedOpts.lr);
  const dataPath = given.data ?? savedInfo.data;
  if (dataPath === undefined) throw new UsageError(`--resume ${dir}: the run does not record its data file; give it with --data FILE`);
  const tokens = await readTokens(dataPath);
  if (tokens.length !== saved.data.tokens || sha256(tokens) !== saved.data.sha256) contradictions.push(`the data ${dataPath} (${tokens.length} tokens, not the ${saved.data.tokens} tokens the run was trained on)`);
  if (contradictions.length) throw new UsageError(`--resume ${dir}: ${contradictions.join('; ')} contradict the saved run; leave them out to continue it as saved`);
  if (given.steps !== undefined && given.steps < ckpt.manifest.step) throw new UsageError(`--steps ${given.steps} is fewer than the ${ckpt.manifest.step} steps the run in ${dir} has done`);
  return {
    config: hybridConfig(ckpt.manifest.config, { source: `${ckpt.dir}/layout.json` }),
    data: new TokenBatches(tokens, saved.data.batchSize, saved.data.seqlen, saved.data.seed),
    options: { ...savedOpts, steps: given.steps ?? savedOpts.steps, saveEvery: given.saveEvery ?? savedOpts.saveEvery },
    info: { ...savedInfo, data: dataPath },
    step: ckpt.manifest.step,
    recorded: { tp: ckpt.manifest.sizes.tp, splits: savedInfo.splits, router: savedInfo.router, mambaMode: savedInfo.mambaMode },
  };
}
