/**
 * `ComposedFalconH1`: one rank's part of a Falcon-H1 model under any product TP × CP × PP × DP
 * (Megatron's rank order, `initializeModelParallel` of @falcon/parallel: tp fastest, then cp, dp, pp). The rank
 * holds a {@link FalconH1PipelineStage} (its stage's layers, embeddings on the first stage, norm
 * and head on the last) whose layers are {@link ComposedLayer}s (this rank's tensor-parallel pieces,
 * their cores running across the CP group) and whose ends are vocab-parallel
 * ({@link composedStageEnds}); the same stage on every rank of its TP × CP × DP slice, each TP rank
 * with its own pieces. Initialised as the one-rank model of the same seed.
 */
import { groupTransport, takeShard } from '@falcon/parallel';
import type { PipelineTransport, ProcessGroup, ShardPlan } from '@falcon/parallel';
import type { Tensor, Variable } from '@falcon/tensor';
import { falconH1Dims } from '@falcon/checkpoint';
import type { RopeParameters } from '@falcon/attention';
import { tf } from '@falcon/tensor';
import type { HybridConfig } from '../../config.js';
import { ParallelHybridLayer } from '../../parallel_hybrid_layer.js';
import { FalconH1PipelineStage } from '../pipeline/stage.js';
import { ropeOf } from '../tensor_parallel/attention_shard.js';
import type { TensorParallelContext } from '../tensor_parallel/layer.js';
import { tensorParallelLayout } from '../tensor_parallel/layout.js';
import { tensorParallelElementWeights } from '../tensor_parallel/element_weights.js';
import type { HeadSplit, TensorParallelLayout } from '../tensor_parallel/layout.js';
import type { ContextParallelMambaMode } from '../context_parallel/context_parallel_model.js';
import { contextParallelCores } from './cores.js';
import { composedStageEnds } from './ends.js';
import { ComposedLayer } from './layer.js';

/** This rank's groups of the layout (`initializeModelParallel(...)` gives them). */
export interface ComposedGroups {
  /** Tensor-parallel group. */
  tp: ProcessGroup;
  /** Context-parallel group. */
  cp: ProcessGroup;
  /** Pipeline group (the same TP, CP and DP coordinates at every stage). */
  pp: ProcessGroup;
  /** Data-parallel group (the same stage of every replica). */
  dp: ProcessGroup;
}

/** Options of {@link ComposedFalconH1}. */
export interface ComposedModelOptions {
  /** Sequence parallelism under TP (default false). */
  sequenceParallel?: boolean;
  /** The seed of the initialisation (that of `FalconH1ForCausalLM`; default 0). */
  seed?: number;
  /** Layers per virtual stage (uneven pipeline splits). */
  layerCounts?: number[];
  /** Model chunks per stage (the interleaved schedule; default 1). */
  chunks?: number;
  /** Head counts per TP rank of every layer (default even; e.g. `routeModel`'s, whose heads may span a rank's groups unevenly). */
  splits?: HeadSplit[];
  /** The Mamba-2 mode under CP (default state passing; all-to-all needs every TP rank's Mamba-2 head count of every layer divisible by the CP size). */
  mambaMode?: ContextParallelMambaMode;
}

/** One rank of a Falcon-H1 model under TP × CP × PP × DP. */
export class ComposedFalconH1 {
  /** This rank's pipeline stage (its variables are the pieces, by HF name). */
  readonly stage: FalconH1PipelineStage;
  /** This rank's TP layout (of the whole model; the stage holds its stage's part). */
  readonly layout: TensorParallelLayout;
  /** The stage's peers (through the pipeline group). */
  readonly transport: PipelineTransport;
  /** Every HF name of the model this stage holds on some TP rank (the TP reductions run over them). */
  readonly stageNames: Set<string>;
  /** The initialisation seed. */
  readonly seed: number;
  /** The Mamba-2 mode under CP. */
  readonly mambaMode: ContextParallelMambaMode;
  private readonly ctx: TensorParallelContext;
  private weightsCache?: Record<string, number | Tensor | undefined>;

  /**
   * @param config - the model config
   * @param groups - this rank's TP, CP, PP and DP groups
   * @param options - SP, seed, pipeline split, head split
   * @throws naming the problem when the layout does not fit the model (see {@link tensorParallelLayout}, {@link FalconH1PipelineStage}), or when the all-to-all mode does not divide a TP rank's Mamba-2 heads by the CP size
   */
  constructor(
    readonly config: HybridConfig,
    readonly groups: ComposedGroups,
    options: ComposedModelOptions = {},
  ) {
    for (const k of ['tp', 'cp', 'pp', 'dp'] as const) if (groups[k].rank < 0) throw new Error(`ComposedFalconH1: this process is not a member of its ${k} group [${groups[k].ranks}]`);
    const { tp, cp, pp } = groups;
    const seed = options.seed ?? 0;
    this.seed = seed;
    const b = config.base;
    this.layout = tensorParallelLayout(config, { size: tp.size, rank: tp.rank, sequenceParallel: options.sequenceParallel, splits: options.splits });
    const mode = options.mambaMode ?? 'state-passing';
    if (mode !== 'state-passing' && mode !== 'all-to-all') throw new Error(`ComposedFalconH1: mambaMode must be 'state-passing' or 'all-to-all', got '${String(mode)}'`);
    this.mambaMode = mode;
    if (cp.size > 1 && mode === 'all-to-all') {
      for (const [i, s] of this.layout.splits.entries()) {
        const bad = s.mamba.findIndex((n) => n % cp.size !== 0);
        if (bad >= 0) throw new RangeError(`ComposedFalconH1 (all-to-all mode): layer ${i} puts ${s.mamba[bad]} Mamba-2 heads on TP rank ${bad}, which must be divisible by the CP size ${cp.size}; use the state-passing mode`);
      }
    }
    const hd = falconH1Dims(b).head_dim;
    const params: Record<string, Variable> = {};
    this.ctx = {
      config,
      layout: this.layout,
      group: tp,
      params,
      attention: { headDim: hd, keyMultiplier: b.key_multiplier, rope: ropeOf(b.rope_parameters as RopeParameters, hd, b.max_position_embeddings) },
      ...(cp.size > 1 ? { contextParallel: contextParallelCores(config, cp, mode) } : {}),
    };
    const layer = (i: number) => {
      const full = new ParallelHybridLayer(config, i, seed);
      const w = full.transformersWeights();
      const prefix = `model.layers.${i}.`;
      for (const [k, spec] of Object.entries(this.layout.plan)) {
        if (!k.startsWith(prefix)) continue;
        const t = w[k.slice(prefix.length)];
        if (!t) throw new Error(`ComposedFalconH1: layer ${i} has no '${k}'`);
        params[k] = tf.variable(tf.tidy(() => takeShard(t, spec)), true);
      }
      full.dispose();
      for (const t of Object.values(w)) if (!t.isDisposed) t.dispose();
      return new ComposedLayer(i, this.ctx, cp);
    };
    this.stage = new FalconH1PipelineStage(config, {
      stages: pp.size,
      stage: pp.rank,
      chunks: options.chunks,
      layerCounts: options.layerCounts,
      seed,
      layer,
      ends: (roles) => composedStageEnds(config, seed, roles, { layout: this.layout, tp, cp }),
    });
    this.transport = groupTransport(pp);
    const mine = (k: string) => {
      const m = /^model\.layers\.(\d+)\./.exec(k);
      return m ? this.stage.layers.has(Number(m[1])) : k in this.stage.top;
    };
    this.stageNames = new Set(Object.keys(this.layout.shapes).filter(mine));
  }

  /** This rank's pieces by HF name and how each is cut (the stage's plan). */
  shardPlan(): ShardPlan {
    return this.stage.shardPlan();
  }

  /** This rank's trainable pieces by HF name. */
  variables(): Record<string, Variable> {
    return this.stage.variables();
  }

  /**
   * Whether this rank saves its pieces in a distributed checkpoint: the first CP and DP rank of
   * each (TP rank, stage) — the others hold the same pieces.
   */
  get saves(): boolean {
    return this.groups.cp.rank === 0 && this.groups.dp.rank === 0;
  }

  /**
   * Load this rank's pieces from pieces by HF name cut by {@link ComposedFalconH1.shardPlan} (a
   * distributed checkpoint's `weights`).
   * @throws naming a missing or misshapen piece
   */
  loadPieces(pieces: Record<string, Tensor>): void {
    const vars = this.variables();
    for (const [k, v] of Object.entries(vars)) {
      const t = pieces[k];
      if (!t) throw new Error(`ComposedFalconH1: missing '${k}'`);
      if (!tf.util.arraysEqual(t.shape, v.shape)) throw new Error(`ComposedFalconH1: '${k}' has shape [${t.shape}], expected [${v.shape}]`);
      v.assign(t);
    }
  }

  /** How much each element of this rank's pieces counts in a sum over the one-rank tensors ({@link tensorParallelElementWeights}). */
  get elementWeights(): Record<string, number | Tensor | undefined> {
    this.weightsCache ??= tensorParallelElementWeights(this.config, this.layout);
    return this.weightsCache;
  }

  /** Free this rank's pieces. */
  dispose(): void {
    this.stage.dispose();
    for (const w of Object.values(this.weightsCache ?? {})) if (w instanceof tf.Tensor) w.dispose();
  }
}
