/**
 * A forward whose tape outlives the call: {@link recordForward} runs a function under a tape of its
 * own and keeps that tape (its nodes and the tensors they saved for the backward);
 * {@link backwardFromTape} later takes the gradients from it for a given dL/d(output) and frees it.
 * What 1F1B needs of autodiff (the forward of microbatch i, the backward many passes later), which
 * tfjs's `gradients(f, …)` cannot give since it runs f and its backward in one call. Uses the
 * engine's tape state the way `recomputed` (recompute.ts) does.
 */
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

interface TapeNode {
  saved?: Tensor[];
}
interface TapeState {
  activeTape: TapeNode[] | null;
  gradientDepth: number;
}
const state = () => (tf.engine() as unknown as { state: TapeState }).state;

/** A recorded forward: its output and the tape that leads to it. */
export interface RecordedForward {
  /** The output of the forward. */
  y: Tensor;
  /** @internal */
  tape: TapeNode[];
}

/**
 * Run `f` recording its tape (its intermediate tensors are freed as in any tidy; the tensors the
 * backward needs stay saved on the tape until {@link backwardFromTape} or {@link freeTape}).
 * @returns the output and the tape
 */
export function recordForward(f: () => Tensor): RecordedForward {
  const st = state();
  if (st.gradientDepth !== 0) throw new Error('recordForward: called inside a gradient computation');
  const outerTape = st.activeTape;
  st.activeTape = [];
  st.gradientDepth = 1;
  let y: Tensor;
  let tape: TapeNode[];
  try {
    y = tf.tidy(f);
  } catch (e) {
    freeSaved(st.activeTape ?? []);
    throw e;
  } finally {
    tape = st.activeTape ?? [];
    st.activeTape = outerTape;
    st.gradientDepth = 0;
  }
  return { y, tape };
}

/**
 * The gradients of a recorded forward's output for `dy`, with respect to `xs` (tensors the
 * forward read: its input, variables); frees the tape and the output.
 * @param rec - from {@link recordForward} (used up)
 * @param xs - what to differentiate against
 * @param dy - dL/d(y), the shape of `rec.y`
 * @returns one gradient per x (null where y does not depend on it)
 */
export function backwardFromTape(rec: RecordedForward, xs: Tensor[], dy: Tensor): (Tensor | null)[] {
  const st = state();
  if (st.gradientDepth !== 0) throw new Error('backwardFromTape: called inside a gradient computation');
  const outerTape = st.activeTape;
  // depth 1: gradients() neither starts a new tape nor frees this one (we do, below)
  st.activeTape = rec.tape;
  st.gradientDepth = 1;
  try {
    const r = tf.engine().gradients(() => rec.y, xs, dy, true);
    return r.grads.map((g) => g ?? null);
  } finally {
    st.activeTape = outerTape;
    st.gradientDepth = 0;
    freeTape(rec);
  }
}

/** Free a recorded forward without its backward (its saved tensors and its output). */
export function freeTape(rec: RecordedForward): void {
  freeSaved(rec.tape);
  rec.tape = [];
  rec.y.dispose();
}

function freeSaved(tape: TapeNode[]): void {
  for (const node of tape) for (const t of node.saved ?? []) t.dispose();
}
