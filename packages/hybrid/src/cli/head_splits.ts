/**
 * The head split of `falcon train` under `--tp` (the even split, the router's with `--router`, or
 * the one a resumed run recorded) and its checks against the model, the TP size and, under
 * `--cp-mamba-mode all-to-all`, the CP size — all before any process starts.
 */
import type { HybridConfig } from '../config.js';
import type { ContextParallelMambaMode } from '../model_parallel/context_parallel/context_parallel_model.js';
import { CALIBRATION, routeModel } from '../model_parallel/tensor_parallel/router.js';
import { evenSplit, tensorParallelLayout } from '../model_parallel/tensor_parallel/layout.js';
import type { HeadSplit } from '../model_parallel/tensor_parallel/layout.js';
import { UsageError } from './command.js';

/** What a run's distributed checkpoint recorded of its head split (`state.info` of its `layout.json`). */
export interface RecordedHeadSplit {
  /** The TP size it was saved under. */
  tp: number;
  /** Head counts per TP rank of every layer (absent in checkpoints saved before splits were recorded: the even split). */
  splits?: HeadSplit[];
  /** Whether the run chose them with `--router`. */
  router?: boolean;
  /** The Mamba-2 mode under CP it ran with. */
  mambaMode?: ContextParallelMambaMode;
}

/** The split a run trains with, and where it came from. */
export interface ChosenHeadSplit {
  /** Head counts per TP rank of every layer (length: the layers; each: tp counts per kind). */
  splits: HeadSplit[];
  /** `even`, `routed` (`--router`) or `recorded` (a resumed run's, under the same --tp). */
  source: 'even' | 'routed' | 'recorded';
}

/** Which flags and sizes choose the split. */
export interface HeadSplitInput {
  /** TP size. */
  tp: number;
  /** CP size. */
  cp: number;
  /** `--router`. */
  router: boolean;
  /** The Mamba-2 mode under CP. */
  mambaMode: ContextParallelMambaMode;
  /** The run's sequence length (the router's cost model runs at it). */
  seqlen: number;
  /** Sequences per microbatch on each replica (the router's batch). */
  batch: number;
  /** The backend (picks the router's calibration). */
  backend: string;
  /** What a resumed run recorded (its split is kept under the same --tp without --router). */
  recorded?: RecordedHeadSplit;
}

/**
 * Choose and check the head split: with `--router` the router's ({@link routeModel} at the run's
 * sequence length and the backend's calibration); else, resuming under the TP size the run was
 * saved with, the recorded one; else the even split, which needs every layer's head counts
 * divisible by --tp. A split other than the one saved is re-sharded when the checkpoint loads.
 * @throws UsageError naming the layer and the flag to use
 */
export function chooseHeadSplits(config: HybridConfig, f: HeadSplitInput): ChosenHeadSplit {
  const { tp, cp } = f;
  config.layers.forEach((l, i) => {
    for (const [kind, n] of [['attention', l.attentionHeads], ['Mamba-2', l.mambaHeads]] as const) {
      if (n > 0 && n < tp) throw new UsageError(`--tp ${tp}: layer ${i} has only ${n} ${kind} heads (every TP rank needs at least one of each kind a layer has)`);
    }
  });
  let chosen: ChosenHeadSplit;
  if (f.router) chosen = { splits: routeModel(config, tp, { seqlen: f.seqlen, batch: f.batch, calibration: CALIBRATION[f.backend] ?? CALIBRATION.cpu }), source: 'routed' };
  else if (f.recorded?.splits && f.recorded.tp === tp) {
    const splits = f.recorded.splits;
    try {
      tensorParallelLayout(config, { size: tp, rank: 0, splits });
    } catch (e) {
      throw new UsageError(`--resume: the run's recorded head split does not fit the model: ${(e as Error).message}`);
    }
    chosen = { splits, source: 'recorded' };
  } else {
    config.layers.forEach((l, i) => {
      const bad = [['attention', l.attentionHeads], ['Mamba-2', l.mambaHeads]].filter(([, n]) => (n as number) % tp !== 0).map(([k, n]) => `${n} ${k}`);
      if (bad.length) throw new UsageError(`--tp ${tp}: layer ${i}'s ${bad.join(' and ')} heads do not divide by ${tp}; add --router to assign heads to the TP ranks by the router's cost model`);
    });
    chosen = { splits: config.layers.map((l) => ({ attention: evenSplit(l.attentionHeads, tp), mamba: evenSplit(l.mambaHeads, tp) })), source: 'even' };
  }
  if (cp > 1 && f.mambaMode === 'all-to-all') {
    chosen.splits.forEach((s, i) => {
      const r = s.mamba.findIndex((n) => n % cp !== 0);
      if (r >= 0) throw new UsageError(`--cp-mamba-mode all-to-all: layer ${i} puts ${s.mamba[r]} Mamba-2 heads on TP rank ${r}, not divisible by --cp ${cp}; use --cp-mamba-mode state-passing`);
    });
  }
  return chosen;
}
