/**
 * How pipeline stages hand tensors to each other: {@link groupTransport} (point-to-point
 * {@link send}/{@link recv} over the pipeline's process group) or {@link memoryTransports} (every
 * stage in one process, for tests and single-process runs of the schedules).
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';
import { recv, send } from '../collectives/send_recv.js';
import type { ProcessGroup } from '../process_group.js';

/** Point-to-point between the stages of one pipeline (stages numbered 0…s−1). */
export interface PipelineTransport {
  /**
   * Post `x` to stage `to` under `tag` without waiting for the receiver (`x` may be disposed as
   * soon as this returns).
   * @returns a promise that settles when the receiver has it
   */
  send(x: Tensor, to: number, tag: number): Promise<void>;
  /**
   * The float32 tensor stage `from` posted under `tag`.
   * @param shape - its shape (fixed by the pipeline; the sender's element count must match)
   */
  recv(shape: number[], from: number, tag: number): Promise<Tensor>;
}

/**
 * The transport of a process group whose group rank `r` is pipeline stage `r` (the `pp` group of
 * `initializeModelParallel`).
 * @param group - the pipeline group
 */
export function groupTransport(group: ProcessGroup): PipelineTransport {
  const peer = (stage: number) => {
    const r = group.ranks[stage];
    if (r === undefined) throw new RangeError(`pipeline transport: stage ${stage} is not in the ${group.size}-rank pipeline group`);
    return r;
  };
  return {
    send: (x, to, tag) => send(x, { dst: peer(to), tag, group }).wait(),
    recv: (shape, from, tag) => recv(shape, 'float32', { src: peer(from), tag, group }).wait(),
  };
}

/**
 * Transports of `stages` stages living in this process: a send copies the tensor into a mailbox,
 * a receive waits for it there (shapes checked).
 * @returns one transport per stage
 */
export function memoryTransports(stages: number): PipelineTransport[] {
  const boxes = new Map<string, { items: Tensor[]; waiters: ((t: Tensor) => void)[] }>();
  const box = (from: number, to: number, tag: number) => {
    const k = `${from}>${to}#${tag}`;
    let b = boxes.get(k);
    if (!b) boxes.set(k, (b = { items: [], waiters: [] }));
    return b;
  };
  const check = (stage: number) => {
    if (!Number.isInteger(stage) || stage < 0 || stage >= stages) throw new RangeError(`memory transport: stage ${stage} is not in [0, ${stages})`);
  };
  return Array.from({ length: stages }, (_, me) => ({
    send: (x: Tensor, to: number, tag: number) => {
      check(to);
      const b = box(me, to, tag);
      const copy = tf.keep(tf.clone(x));
      const w = b.waiters.shift();
      if (w) w(copy);
      else b.items.push(copy);
      return Promise.resolve();
    },
    recv: (shape: number[], from: number, tag: number) => {
      check(from);
      const b = box(from, me, tag);
      const got = new Promise<Tensor>((resolve) => {
        const t = b.items.shift();
        if (t) resolve(t);
        else b.waiters.push(resolve);
      });
      return got.then((t) => {
        if (t.size !== shape.reduce((a, c) => a * c, 1)) {
          t.dispose();
          throw new Error(`memory transport: stage ${from} sent ${t.size} elements under tag ${tag}, stage ${me} expects [${shape}]`);
        }
        const r = tf.reshape(t, shape);
        t.dispose();
        return r;
      });
    },
  }));
}
