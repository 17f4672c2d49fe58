/**
 * Small exchanges between every stage of a pipeline over its {@link PipelineTransport}, with a fixed
 * order so each stage gets bit-identical results: {@link stageSum} (a sum over the stages, e.g. of
 * the squared gradient norms) and {@link stageBroadcast} (one stage's tensor to all, e.g. the loss).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import type { PipelineTransport } from './transport.js';

/** Where this stage is. */
export interface StagePosition {
  /** This stage. */
  stage: number;
  /** Stages of the pipeline. */
  stages: number;
}

/**
 * `x` summed over every stage, in stage order (stage 0 adds them up and sends the total back).
 * @param x - this stage's float32 term (any shape, the same on every stage; not disposed)
 * @param tag - a tag no other transfer in flight uses (e.g. from `PIPELINE_FREE_TAG`); uses `tag` and `tag + 1`
 * @returns the sum (a new tensor), the same on every stage
 */
export async function stageSum(transport: PipelineTransport, at: StagePosition, x: Tensor, tag: number): Promise<Tensor> {
  const { stage, stages } = at;
  if (stages === 1) return tf.clone(x);
  if (stage !== 0) {
    await transport.send(x, 0, tag);
    return transport.recv([...x.shape], 0, tag + 1);
  }
  const parts = [tf.clone(x)];
  for (let r = 1; r < stages; r++) parts.push(await transport.recv([...x.shape], r, tag));
  let total = parts[0];
  for (const p of parts.slice(1)) {
    const t = tf.add(total, p);
    tf.dispose([total, p]);
    total = t;
  }
  await Promise.all(Array.from({ length: stages - 1 }, (_, k) => transport.send(total, k + 1, tag + 1)));
  return total;
}

/**
 * Stage `from`'s tensor on every stage.
 * @param x - the tensor on stage `from` (not disposed; ignored elsewhere)
 * @param shape - its shape (every stage knows it)
 * @returns a new tensor on every stage
 */
export async function stageBroadcast(transport: PipelineTransport, at: StagePosition, x: Tensor | undefined, shape: number[], from: number, tag: number): Promise<Tensor> {
  if (at.stage === from) {
    if (!x) throw new Error(`stageBroadcast: stage ${from} has nothing to send`);
    await Promise.all(Array.from({ length: at.stages }, (_, r) => r).filter((r) => r !== from).map((r) => transport.send(x, r, tag)));
    return tf.clone(x);
  }
  return transport.recv(shape, from, tag);
}
