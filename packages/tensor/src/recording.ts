/**
 * `isRecordingGradients`: is a gradient tape active; `isolatedGradients`: a gradient taken inside
 * another gradient's backward pass (recomputation).
 */
import { tf } from './tf.js';
import type { Tensor } from './tf.js';

type EngineState = { state: { gradientDepth: number; activeTape: unknown[] | null } };

/**
 * Whether tfjs is recording operations for a gradient right now (inside `tf.grads`,
 * `tf.variableGrads`, `optimizer.minimize` or a `customGrad` backward being differentiated), so
 * that a function can pick an implementation for training (one whose backward is cheap) or for
 * inference (one without a tape). Reads tfjs-core's engine state, which has no public accessor.
 * @returns true while a gradient tape is active
 */
export function isRecordingGradients(): boolean {
  const state = (tf.engine() as unknown as EngineState).state;
  return state.gradientDepth > 0 && state.activeTape != null;
}

/**
 * The gradient of the scalar (or, with `dy`, the vjp of the tensor) `f()` with respect to `xs`,
 * taken on a tape of its own: usable inside a `customGrad` backward (recomputation). tfjs keeps one
 * tape, and a gradients() call at depth 0 would free "the" tape, i.e. the outer pass's saved
 * tensors; this one gets a fresh tape at depth 0, freed as soon as its gradient is taken, and the
 * outer tape is put back afterwards.
 * @param f - the function to differentiate
 * @param xs - the tensors to differentiate with respect to
 * @param dy - the gradient of f's result (default ones: f must return a scalar)
 * @returns f's value and one gradient per x (null where x does not reach f)
 */
export function isolatedGradients(f: () => Tensor, xs: Tensor[], dy?: Tensor): { value: Tensor; grads: (Tensor | null)[] } {
  const state = (tf.engine() as unknown as EngineState).state;
  const outerTape = state.activeTape;
  const outerDepth = state.gradientDepth;
  state.activeTape = [];
  state.gradientDepth = 0;
  try {
    const r = tf.engine().gradients(f, xs, dy, true);
    return { value: r.value, grads: r.grads as (Tensor | null)[] };
  } finally {
    state.activeTape = outerTape;
    state.gradientDepth = outerDepth;
  }
}
