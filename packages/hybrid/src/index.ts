/**
 * `@falcon/hybrid`: The Falcon-H1 hybrid model, trainer and the falcon command line.
 *
 * @packageDocumentation
 */
export { VERSION } from './version.js';
