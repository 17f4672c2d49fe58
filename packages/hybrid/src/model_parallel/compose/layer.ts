/**
 * `ComposedLayer`: one decoder layer of a pipeline stage under TP × CP — this rank's tensor-parallel
 * pieces of the layer (Hugging Face names, as {@link tensorParallelLayout} cuts them; all of it at
 * t = 1) run by {@link tensorParallelLayer}, its attention and Mamba-2 cores running across the CP
 * group when the context-parallel hooks are set (ring attention, state passing).
 */
import { contextParallelLayout, splitSequence, takeShard } from '@falcon/parallel';
import type { ProcessGroup, ShardPlan } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Tensor, Variable } from '@falcon/tensor';
import type { LayerInputs } from '../../parallel_hybrid_layer.js';
import { recomputed } from '../../recompute.js';
import type { PipelineStageLayer } from '../pipeline/stage.js';
import { tensorParallelLayer } from '../tensor_parallel/layer.js';
import type { TensorParallelContext } from '../tensor_parallel/layer.js';

/** One decoder layer's pieces on this rank of a composed layout (a {@link PipelineStageLayer}). */
export class ComposedLayer implements PipelineStageLayer {
  private readonly prefix: string;

  /**
   * @param index - the layer's global index
   * @param ctx - the rank's TP context (its `params` hold this layer's pieces by full HF name)
   * @param cp - the CP group (size 1: no context parallelism)
   */
  constructor(
    readonly index: number,
    private readonly ctx: TensorParallelContext,
    private readonly cp: ProcessGroup,
  ) {
    this.prefix = `model.layers.${index}.`;
  }

  private own<T>(record: Record<string, T>): Record<string, T> {
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(record)) if (k.startsWith(this.prefix)) out[k.slice(this.prefix.length)] = v;
    return out;
  }

  /**
   * @param x - the residual stream `[rows, localSeq, d]` (localSeq: seqlen / cp, then / t under SP)
   * @param inputs - positions and padding mask of the whole sequences `[rows, seqlen]` (this rank's are taken here);
   *   `recompute: 'layer'` recomputes the whole layer in the backward, `'attention'` / `'mamba'` /
   *   `'both'` those mixers (their collectives included)
   * @returns `{ y }`, shape of x
   */
  forward(x: Tensor, inputs: LayerInputs): { y: Tensor } {
    const rec = inputs.recompute ?? 'none';
    const run = (t: Tensor, [pos, mask]: (Tensor | undefined)[]) => tensorParallelLayer(t, this.index, this.ctx, pos!, mask, undefined, rec === 'layer' ? 'none' : rec);
    return {
      y: tf.tidy(() => {
        const cpLayout = this.cp.size === 1 ? undefined : contextParallelLayout(inputs.positions.shape[1] as number, this.cp.size, this.cp.rank);
        const positions = cpLayout ? splitSequence(inputs.positions, cpLayout) : inputs.positions;
        const mask = cpLayout && inputs.mask ? splitSequence(inputs.mask, cpLayout) : inputs.mask;
        return rec === 'layer' ? recomputed(run, x, Object.values(this.variables()), [positions, mask]) : run(x, [positions, mask]);
      }),
    };
  }

  /** This rank's pieces by HF name relative to `model.layers.{i}.`. */
  variables(): Record<string, Variable> {
    return this.own(this.ctx.params) as Record<string, Variable>;
  }

  /** This rank's pieces (the shapes of {@link ComposedLayer.shardPlan}). */
  transformersWeights(): Record<string, Tensor> {
    return this.own(this.ctx.params);
  }

  /** Full shapes by HF name (relative). */
  transformersShapes(): Record<string, number[]> {
    return this.own(this.ctx.layout.shapes);
  }

  /** How each piece is cut (relative names). */
  shardPlan(): ShardPlan {
    return this.own(this.ctx.layout.plan);
  }

  /** Cut this rank's pieces from full weights by HF name (relative). @throws naming a missing weight */
  loadTransformersWeights(w: Record<string, Tensor>): void {
    for (const [k, spec] of Object.entries(this.shardPlan())) {
      if (!w[k]) throw new Error(`composed layout: layer ${this.index}: missing '${k}'`);
      tf.tidy(() => (this.ctx.params[this.prefix + k] as Variable).assign(takeShard(w[k], spec)));
    }
  }

  /** Free this layer's pieces. */
  dispose(): void {
    for (const v of Object.values(this.variables())) v.dispose();
  }
}
