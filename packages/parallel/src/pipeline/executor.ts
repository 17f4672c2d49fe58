/**
 * The pipeline executor: runs one stage's actions of a schedule ({@link pipelineSchedule}) in order,
 * receiving each forward's input from the previous virtual stage and each backward's output
 * gradient from the next one, and posting what it computes onwards. Sends never block, so the
 * stage runs as soon as its inputs arrive; the order of compute and of messages is the schedule's.
 *
 * Virtual stage `vs = chunk·s + stage` (one per chunk with interleaving): the activation of
 * microbatch `mb` from `vs` to `vs + 1` travels under tag `2·(mb·S + vs)`, its gradient back under
 * `2·(mb·S + vs) + 1` (`S = s·v` virtual stages).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { pipelineSchedule } from './schedule.js';
import type { PipelineAction, PipelineScheduleKind, PipelineShape } from './schedule.js';
import type { PipelineTransport } from './transport.js';

/** What a stage computes; called by {@link runPipeline} in schedule order. */
export interface PipelineStageFunctions {
  /**
   * The chunk's forward on the microbatch.
   * @param input - the previous virtual stage's output `shape` (undefined on virtual stage 0); the executor disposes it afterwards (clone what you keep)
   * @returns the output `shape` for the next virtual stage (the executor sends and disposes it); undefined on the last virtual stage
   */
  forward(microbatch: number, chunk: number, input: Tensor | undefined): Tensor | undefined;
  /**
   * The chunk's backward on the microbatch (accumulating the parameters' gradients is the stage's business).
   * @param gradOutput - dL/d(output) from the next virtual stage (undefined on the last one); disposed afterwards by the executor
   * @returns dL/d(input) `shape` for the previous virtual stage (sent and disposed by the executor); undefined on virtual stage 0
   */
  backward(microbatch: number, chunk: number, gradOutput: Tensor | undefined): Tensor | undefined;
}

/** Options of {@link runPipeline}. */
export interface RunPipelineOptions extends PipelineShape {
  /** This stage, `0 ≤ stage < stages`. */
  stage: number;
  /** The schedule (default `'1f1b'`; `'interleaved'` when `chunks > 1`). */
  schedule?: PipelineScheduleKind;
  /** The activation shape every transfer has (e.g. `[microbatch rows, seqlen, d_model]`). */
  shape: number[];
  /** How tensors reach the other stages. */
  transport: PipelineTransport;
}

/** Tags from this one up (16 of them, below 2^24) are never used by {@link runPipeline}: the caller's own transfers between stages (tied embeddings, norms, the loss) use them. */
export const PIPELINE_FREE_TAG = (1 << 24) - 16;

/**
 * Run this stage's part of one pipelined step (every stage calls it with the same shape).
 * @param fns - the stage's forward and backward
 * @param options - the pipeline, this stage, the activation shape and the transport
 * @returns the actions run, in order
 * @throws an Error naming the stage, the virtual stage, the pass and the microbatch when a pass, a transfer or a shape fails
 */
export async function runPipeline(fns: PipelineStageFunctions, options: RunPipelineOptions): Promise<PipelineAction[]> {
  const { stages: s, microbatches: m, stage, shape, transport } = options;
  const v = options.chunks ?? 1;
  const actions = pipelineSchedule(options.schedule ?? (v > 1 ? 'interleaved' : '1f1b'), options, stage);
  const S = s * v;
  if (2 * (m * S) > PIPELINE_FREE_TAG) throw new RangeError(`runPipeline: ${m} microbatches × ${S} virtual stages need more message tags than there are (2^24 − 16)`);
  if (!shape.every((d) => Number.isInteger(d) && d > 0)) throw new RangeError(`runPipeline: bad activation shape [${shape}]`);
  const tag = (mb: number, vs: number, grad: boolean) => 2 * (mb * S + vs) + (grad ? 1 : 0);
  const where = (a: PipelineAction, vs: number) => `pipeline stage ${stage} (virtual stage ${vs} of ${S}), ${a.kind} of microbatch ${a.microbatch}`;
  const sends: Promise<void>[] = [];
  let sendError: unknown;
  // transfers between two chunks of this stage (one stage with several chunks) stay here
  const local = new Map<number, Tensor>();
  const post = (x: Tensor, toVs: number, t: number, what: string) => {
    if (!sameShape(x.shape, shape)) throw new Error(`${what} is [${x.shape}], the pipeline's activations are [${shape}]`);
    if (toVs % s === stage) {
      local.set(t, tf.clone(x));
      return;
    }
    const p = transport.send(x, toVs % s, t).catch((e: unknown) => {
      sendError ??= e;
    });
    sends.push(p);
  };
  const take = async (fromVs: number, t: number): Promise<Tensor> => {
    if (fromVs % s !== stage) return transport.recv(shape, fromVs % s, t);
    const x = local.get(t);
    if (!x) throw new Error(`virtual stage ${fromVs} of this stage has not produced tag ${t} yet (the schedule runs a pass before its input)`);
    local.delete(t);
    return x;
  };
  for (const a of actions) {
    const vs = a.chunk * s + stage;
    let received: Tensor | undefined;
    let produced: Tensor | undefined;
    try {
      if (a.kind === 'forward') {
        if (vs > 0) received = await take(vs - 1, tag(a.microbatch, vs - 1, false));
        produced = fns.forward(a.microbatch, a.chunk, received);
        if (vs < S - 1) {
          if (!produced) throw new Error('the forward returned no output for the next stage');
          post(produced, vs + 1, tag(a.microbatch, vs, false), 'the output');
        }
      } else {
        if (vs < S - 1) received = await take(vs + 1, tag(a.microbatch, vs, true));
        produced = fns.backward(a.microbatch, a.chunk, received);
        if (vs > 0) {
          if (!produced) throw new Error('the backward returned no input gradient for the previous stage');
          post(produced, vs - 1, tag(a.microbatch, vs - 1, true), 'the input gradient');
        }
      }
    } catch (e) {
      throw new Error(`${where(a, vs)}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    } finally {
      received?.dispose();
      produced?.dispose();
    }
    if (sendError !== undefined) break;
  }
  await Promise.all(sends);
  if (sendError !== undefined) throw new Error(`pipeline stage ${stage}: a send failed: ${sendError instanceof Error ? sendError.message : String(sendError)}`, { cause: sendError });
  return actions;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
