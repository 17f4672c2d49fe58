/**
 * `@falcon/mamba2`: Mamba-2 (SSD) ops with gradients, the Mamba2Mixer module and the decode step.
 *
 * @packageDocumentation
 */
export { VERSION } from './version.js';
