/**
 * Validation of the plans of all ranks of a layout against each other: every spec valid, every
 * rank that holds a tensor agrees on its full shape and encoding, and every element of every full
 * tensor is held by some rank (so a checkpoint saved under the layout holds the whole model).
 */
import { replicated } from './shard_spec.js';
import type { ShardPlan } from './shard_spec.js';
import { planReshard } from './reshard.js';

/**
 * Check the plans of a layout against each other.
 *
 * @param plans - one plan per rank, by rank
 * @returns each tensor's full shape and encoding, by name (in first-seen order)
 * @throws Error listing every problem: a misshapen spec, ranks disagreeing on a full shape or an
 *   encoding (naming both ranks), elements no rank holds (naming the tensor and the first such box)
 */
export function checkPlans(plans: readonly ShardPlan[]): Map<string, { shape: number[]; encoding: 'plain' | 'ternary2' }> {
  const full = new Map<string, { shape: number[]; encoding: 'plain' | 'ternary2'; rank: number }>();
  const problems: string[] = [];
  plans.forEach((plan, rank) => {
    for (const [name, spec] of Object.entries(plan)) {
      const encoding = spec.encoding ?? 'plain';
      const seen = full.get(name);
      if (!seen) full.set(name, { shape: [...spec.shape], encoding, rank });
      else if (seen.shape.length !== spec.shape.length || seen.shape.some((v, i) => v !== spec.shape[i])) {
        problems.push(`${name}: rank ${seen.rank} holds it with full shape [${seen.shape}], rank ${rank} with [${spec.shape}]`);
      } else if (seen.encoding !== encoding) problems.push(`${name}: rank ${seen.rank} stores it as ${seen.encoding}, rank ${rank} as ${encoding}`);
    }
  });
  if (!problems.length) {
    for (const [name, { shape }] of full) {
      const sources = plans.flatMap((plan, rank) => (plan[name] ? [{ source: rank, spec: plan[name] }] : []));
      try {
        planReshard(name, replicated(shape), sources);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
  }
  if (problems.length) throw new Error(`the plans of the ${plans.length} ranks do not fit together:\n- ${problems.join('\n- ')}`);
  return new Map([...full].map(([k, v]) => [k, { shape: v.shape, encoding: v.encoding }]));
}
