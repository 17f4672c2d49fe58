/**
 * `@falcon/parallel/testing`: the NCCL engine's checks at world size 1 ({@link runNcclChecks}, run
 * on a GPU by the device runner and here over emulations) and the host-memory emulation of the
 * NCCL addon they use.
 *
 * @packageDocumentation
 */
export { runNcclChecks } from './nccl_checks.js';
export type { NcclCheck } from './nccl_checks.js';
export { createEmulatedNcclAddon } from './nccl_emulator.js';
export { setNcclAddon } from '../native/nccl_addon.js';
export { randomSpecs, RANDOM_SPEC_KINDS } from '../sharding/random_plans.js';
