/**
 * `@falcon/parallel`: Process groups, collectives, tensor/sequence/context/pipeline parallelism for `@falcon` models.
 *
 * @packageDocumentation
 */
export { VERSION } from './version.js';
export * from './launch/index.js';
export * from './data_parallel/index.js';
