/** `isRecordingGradients`: is a gradient tape active. */
import { tf } from './tf.js';

/**
 * Whether tfjs is recording operations for a gradient right now (inside `tf.grads`,
 * `tf.variableGrads`, `optimizer.minimize` or a `customGrad` backward being differentiated), so
 * that a function can pick an implementation for training (one whose backward is cheap) or for
 * inference (one without a tape). Reads tfjs-core's engine state, which has no public accessor.
 * @returns true while a gradient tape is active
 */
export function isRecordingGradients(): boolean {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number; activeTape: unknown[] | null } }).state;
  return state.gradientDepth > 0 && state.activeTape != null;
}
