/**
 * The attributes every attention op of this package shares (flash forward and backward, decode),
 * as plain numbers so tfjs can carry them as kernel attributes.
 */

/** Attributes of the attention ops. */
export interface AttentionAttrs {
  /** Softmax scale multiplying q·k (default `headDim^−0.5`). */
  scale: number;
  /** Causal masking, queries aligned to the end of the keys (bottom-right). */
  causal: boolean;
  /** Keys more than this many positions before the query are masked; −1 for no limit. */
  windowLeft: number;
  /** Keys more than this many positions after the query are masked; −1 for no limit. */
  windowRight: number;
}
