/** Which decoder layers each (virtual) pipeline stage runs. */

/**
 * The layers of every virtual stage, in order: virtual stage `vs` (chunk `c` of stage `r`,
 * `vs = c·s + r`) runs the layers after those of `vs − 1`.
 * @param numLayers - `num_hidden_layers`
 * @param virtualStages - `s·v` (stages × chunks per stage)
 * @param counts - layers per virtual stage (uneven splits; ≥ 0 each, summing to `numLayers`); default
 *   even, the first `numLayers mod (s·v)` virtual stages taking one layer more
 * @returns `[first, end)` layer ranges, one per virtual stage
 * @throws naming the problem when `counts` does not fit
 */
export function pipelineLayerRanges(numLayers: number, virtualStages: number, counts?: number[]): Array<[number, number]> {
  if (!Number.isInteger(virtualStages) || virtualStages < 1) throw new RangeError(`pipeline: the virtual stages must be a positive integer, got ${virtualStages}`);
  let c: number[];
  if (counts) {
    if (counts.length !== virtualStages) throw new RangeError(`pipeline: the layer split [${counts}] has ${counts.length} entries, expected one per virtual stage (${virtualStages})`);
    if (counts.some((n) => !Number.isInteger(n) || n < 0)) throw new RangeError(`pipeline: the layer split [${counts}] must be non-negative integers`);
    const sum = counts.reduce((a, b) => a + b, 0);
    if (sum !== numLayers) throw new RangeError(`pipeline: the layer split [${counts}] sums to ${sum}, the model has ${numLayers} layers`);
    c = counts;
  } else {
    const base = Math.floor(numLayers / virtualStages);
    c = Array.from({ length: virtualStages }, (_, i) => base + (i < numLayers % virtualStages ? 1 : 0));
  }
  const out: Array<[number, number]> = [];
  let at = 0;
  for (const n of c) {
    out.push([at, at + n]);
    at += n;
  }
  return out;
}
