/**
 * One pipelined forward/backward of a Falcon-H1 stage over the microbatches of a batch:
 * {@link pipelineValueAndGrads}. The batch's rows are split into `m` microbatches; the stages run
 * the schedule ({@link runPipeline}: 1F1B, or interleaved with several chunks per stage); the loss
 * is the mean of the microbatches' mean losses (the one-rank loss of the whole batch when every
 * microbatch has as many labelled tokens, as with labels = ids), its gradient the mean of theirs.
 *
 * What a stage keeps between a microbatch's forward and its backward (`stash`):
 * - `'activations'` (default): the forward runs under a tape of its own that is kept until the
 *   backward ({@link recordForward} / {@link backwardFromTape}): the tensors the chunk's backward
 *   needs, as in any autodiff, for at most `s − stage` in-flight microbatches under 1F1B — 1F1B's
 *   usual memory. The selective recomputation policies (`recompute`) keep only the recomputed
 *   sub-layers' inputs on that tape and redo them in the backward.
 * - `'inputs'`: only the chunk's INPUT `[rows, seqlen, d]`; the backward runs the chunk's forward
 *   again under a tape (full recomputation: one extra forward per microbatch and chunk). Memory:
 *   the in-flight inputs plus ONE microbatch's chunk activations during a backward.
 *
 * The last virtual stage computes its loss and gradients at once in the forward (its backward
 * follows immediately in 1F1B) and keeps only dL/d(input) until then.
 *
 * With `tie_word_embeddings` and several stages, the first and the last stage each hold the
 * embeddings; after the backward they exchange their gradients and both take the sum (in the same
 * order, so both copies get bit-identical gradients and stay equal under the same optimizer).
 */
import { PIPELINE_FREE_TAG, runPipeline } from '@falcon/parallel';
import type { PipelineScheduleKind, PipelineStageFunctions, PipelineTransport } from '@falcon/parallel';
import { tf } from '@falcon/tensor';
import type { Scalar, Tensor, Tensor2D } from '@falcon/tensor';
import { checkInputIds } from '../../checks.js';
import { positionIds } from '../../model.js';
import type { RecomputePolicy } from '../../recompute.js';
import type { FalconH1PipelineStage, StageInputs } from './stage.js';
import { backwardFromTape, freeTape, recordForward } from './tape.js';
import type { RecordedForward } from './tape.js';

/** Options of {@link pipelineValueAndGrads}. */
export interface PipelineStepOptions {
  /** Microbatches `m` (must divide the batch size). */
  microbatches: number;
  /** How this stage reaches the others (`groupTransport(pp group)`, or `memoryTransports` in one process). */
  transport: PipelineTransport;
  /** `'1f1b'` (default with one chunk) or `'interleaved'` (default with several). */
  schedule?: PipelineScheduleKind;
  /** Sub-layers recomputed in the backward's forward (default none). */
  recompute?: RecomputePolicy;
  /** Tokens per chunk of the chunked loss. */
  lossChunkSize?: number;
  /** What a stage keeps from a forward for its backward: its tape (`'activations'`, default) or only its input (`'inputs'`, recomputing the forward). */
  stash?: 'activations' | 'inputs';
  /**
   * The shape of what a stage sends on (default `[batch / m, seqlen, hidden_size]`); a layer
   * factory whose layers hand on other shapes (e.g. sequence-parallel shards) says so here.
   */
  activationShape?: number[];
}

/** The global batch (the same on every stage). */
export interface PipelineBatch {
  /** int32 `[batch, seqlen]`. */
  inputIds: Tensor2D;
  /** int32 `[batch, seqlen]` (default the ids; shifted inside; −100 ignored). */
  labels?: Tensor2D;
  /** `[batch, seqlen]` 1 keep / 0 padding. */
  attentionMask?: Tensor2D;
}

/** Tag of the tied embeddings' gradient exchange. @internal */
export const TIED_GRAD_TAG = PIPELINE_FREE_TAG;

/**
 * This stage's part of the loss and gradients of one batch (every stage of the pipeline calls it
 * with the same batch and options).
 * @param stage - this stage's model part
 * @param batch - the global batch
 * @returns on the last stage the mean loss (a scalar); on every stage the gradient of the loss for
 *   each of its variables (names of {@link FalconH1PipelineStage.variables})
 * @throws naming the stage, the pass and the microbatch when something fails
 */
export async function pipelineValueAndGrads(stage: FalconH1PipelineStage, batch: PipelineBatch, options: PipelineStepOptions): Promise<{ loss?: Scalar; grads: Record<string, Tensor> }> {
  const m = options.microbatches;
  const ids = batch.inputIds;
  checkInputIds('pipelineValueAndGrads', ids, stage.config.base, batch.attentionMask);
  const [rowsAll, seqlen] = ids.shape;
  if (!Number.isInteger(m) || m < 1 || rowsAll % m !== 0) throw new Error(`pipeline: the batch of ${rowsAll} rows does not split into ${m} microbatches`);
  for (const [k, t] of [['labels', batch.labels], ['attentionMask', batch.attentionMask]] as const) {
    if (t && !tf.util.arraysEqual(t.shape, ids.shape)) throw new Error(`pipeline: ${k} has shape [${t.shape}], the ids [${ids.shape}]`);
  }
  const rows = rowsAll / m;
  const s = stage.stages;
  const S = s * stage.chunks;
  const vars = stage.variables();
  const names = Object.keys(vars);
  const list = Object.values(vars);
  const sums: Record<string, Tensor> = {};
  const inputsOf = new Map<number, { ids: Tensor; inputs: StageInputs }>();
  const stash = options.stash ?? 'activations';
  if (stash !== 'activations' && stash !== 'inputs') throw new Error(`pipeline: stash must be 'activations' or 'inputs', got '${String(stash)}'`);
  const kept = new Map<string, Tensor>();
  const tapes = new Map<string, RecordedForward>();
  const lastDx = new Map<number, Tensor>();
  let lossSum: Tensor | undefined;
  const mbScale = tf.scalar(1 / m);

  const micro = (mb: number) => {
    let r = inputsOf.get(mb);
    if (!r) {
      const cut = (t: Tensor) => tf.slice(t, [mb * rows, 0], [rows, seqlen]);
      const mask = batch.attentionMask && cut(batch.attentionMask);
      r = { ids: cut(ids), inputs: { positions: positionIds(rows, seqlen, mask), mask, labels: cut(batch.labels ?? ids), recompute: options.recompute, lossChunkSize: options.lossChunkSize } };
      inputsOf.set(mb, r);
    }
    return r;
  };
  const accumulate = (gs: (Tensor | null)[], offset: number) => {
    names.forEach((k, i) => {
      const g = gs[offset + i];
      if (!g) return;
      const prev = sums[k];
      sums[k] = prev ? tf.add(prev, g) : g;
      if (prev) tf.dispose([prev, g]);
    });
  };
  /** The chunk's gradient for dy (dL/d(output), or 1/m for the loss): the variables' into the sums, dL/d(input) returned. */
  const differentiate = (mb: number, chunk: number, x: Tensor, vs: number, dy: Tensor): { value: Tensor; dx?: Tensor } => {
    const { inputs } = micro(mb);
    const xs = vs === 0 ? list : [x, ...list];
    const r = tf.engine().gradients(() => stage.forwardChunk(chunk, x, inputs), xs, dy, true);
    const dx = vs === 0 ? undefined : (r.grads[0] ?? tf.zerosLike(x));
    accumulate(r.grads, vs === 0 ? 0 : 1);
    return { value: r.value, dx };
  };

  const fns: PipelineStageFunctions = {
    forward(mb, chunk, input) {
      const vs = chunk * s + stage.stage;
      const x = vs === 0 ? micro(mb).ids : input!;
      if (vs === S - 1) {
        const { value, dx } = differentiate(mb, chunk, x, vs, mbScale);
        const next = lossSum ? tf.add(lossSum, value) : value;
        if (lossSum) tf.dispose([lossSum, value]);
        lossSum = next;
        if (dx) lastDx.set(mb, dx);
        return undefined;
      }
      const key = `${mb}:${chunk}`;
      const own = vs > 0 ? tf.clone(x) : x;
      if (vs > 0) kept.set(key, own);
      const { inputs } = micro(mb); // made outside the forward's tidy: they live until the step ends
      if (stash === 'inputs') return stage.forwardChunk(chunk, own, inputs);
      const rec = recordForward(() => stage.forwardChunk(chunk, own, inputs));
      tapes.set(key, rec);
      return tf.clone(rec.y);
    },
    backward(mb, chunk, dy) {
      const vs = chunk * s + stage.stage;
      if (vs === S - 1) {
        const dx = lastDx.get(mb);
        lastDx.delete(mb);
        return dx;
      }
      const key = `${mb}:${chunk}`;
      const x = vs === 0 ? micro(mb).ids : kept.get(key)!;
      kept.delete(key);
      let dx: Tensor | undefined;
      const rec = tapes.get(key);
      if (rec) {
        tapes.delete(key);
        const gs = backwardFromTape(rec, vs === 0 ? list : [x, ...list], dy!);
        dx = vs === 0 ? undefined : (gs[0] ?? tf.zerosLike(x));
        accumulate(gs, vs === 0 ? 0 : 1);
      } else {
        const r = differentiate(mb, chunk, x, vs, dy!);
        r.value.dispose();
        dx = r.dx;
      }
      if (vs > 0) x.dispose();
      return dx;
    },
  };

  try {
    await runPipeline(fns, { stages: s, chunks: stage.chunks, microbatches: m, stage: stage.stage, schedule: options.schedule, shape: options.activationShape ?? [rows, seqlen, stage.config.base.hidden_size], transport: options.transport });
  } catch (e) {
    tf.dispose([...Object.values(sums), ...(lossSum ? [lossSum] : [])]);
    throw e;
  } finally {
    for (const r of inputsOf.values()) tf.dispose([r.ids, r.inputs.positions, ...(r.inputs.mask ? [r.inputs.mask] : []), ...(r.inputs.labels ? [r.inputs.labels] : [])]);
    for (const rec of tapes.values()) freeTape(rec);
    tf.dispose([...kept.values(), ...lastDx.values(), mbScale]);
  }
  for (const [k, v] of Object.entries(vars)) sums[k] ??= tf.zerosLike(v);
  await syncTiedGradients(stage, sums, options.transport);
  const loss = lossSum ? (tf.div(lossSum, m) as Scalar) : undefined;
  lossSum?.dispose();
  return { ...(loss ? { loss } : {}), grads: sums };
}

/** With tied embeddings over several stages: first and last stage both end with g_first + g_last. */
async function syncTiedGradients(stage: FalconH1PipelineStage, grads: Record<string, Tensor>, transport: PipelineTransport): Promise<void> {
  if (!stage.config.base.tie_word_embeddings || stage.stages === 1 || !(stage.isFirst || stage.isLast)) return;
  const k = 'model.embed_tokens.weight';
  const peer = stage.isFirst ? stage.stages - 1 : 0;
  const mine = grads[k];
  const sent = transport.send(mine, peer, TIED_GRAD_TAG);
  const theirs = await transport.recv([...mine.shape], peer, TIED_GRAD_TAG);
  await sent;
  grads[k] = stage.isFirst ? tf.add(mine, theirs) : tf.add(theirs, mine);
  tf.dispose([mine, theirs]);
}
