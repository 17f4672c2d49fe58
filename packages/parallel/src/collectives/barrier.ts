/**
 * `barrier`: completes on every rank once every rank of the group has reached it.
 */
import type { Work } from '../work.js';
import { prepare, work } from './common.js';
import type { GroupOption } from './common.js';

/**
 * Barrier over the group.
 *
 * @param opts - `group` (default the world)
 * @returns a Work that completes when every rank has entered the barrier
 */
export function barrier(opts?: GroupOption): Work<void> {
  const { group, engine } = prepare('barrier', opts);
  return work(group, 'barrier', () => engine.barrier(false));
}
