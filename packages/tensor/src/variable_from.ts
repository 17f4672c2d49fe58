/**
 * `variableFrom`: a variable that takes over its initial tensor's memory.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * A variable holding `initial`'s data, with `initial` disposed. `tf.variable(initial)` shares the
 * initial tensor's buffer as a second owner. An initialiser that is never disposed therefore
 * keeps that buffer after the variable's first `assign` (e.g. an optimizer step). That costs a
 * copy of every parameter and optimizer slot for the life of the program: 3.9 GiB for AdamW's
 * zero-initialised moments at 0.5B parameters, plus the weights' initial values.
 * @param initial - the initial value, any shape (disposed here; do not use it afterwards)
 * @param trainable - whether gradients flow to it (default true)
 * @param name - the variable's name (unique; default tfjs's counter)
 * @returns the variable, of `initial`'s shape and dtype
 */
export function variableFrom(initial: tf.Tensor, trainable = true, name?: string): tf.Variable {
  const v = tf.variable(initial, trainable, name);
  initial.dispose();
  return v;
}
