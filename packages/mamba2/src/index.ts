/**
 * `@falcon/mamba2`: Mamba-2 (SSD) ops with gradients, the Mamba2Mixer module and the decode step.
 *
 * Ops (each declared with `defineOp`, with CPU and WebGPU kernels and a gradient op of its own):
 * {@link ssdChunkScan}, {@link selectiveStateUpdate}, {@link causalConv1d}, {@link gatedRmsNorm}.
 * Their plain references (the definition of correct, differentiable by tfjs autodiff) are exported
 * too, with the suffix `Reference`.
 *
 * @packageDocumentation
 */
export { VERSION } from './version.js';
export { ssdChunkScan, DEFAULT_CHUNK_SIZE, setSsdForm } from './ssd_chunk_scan.js';
export type { SsdChunkScanOptions, SsdChunkScanResult, SsdForm } from './ssd_chunk_scan.js';
export { selectiveStateUpdate } from './selective_state_update.js';
export type { SelectiveStateUpdateOptions, SelectiveStateUpdateResult } from './selective_state_update.js';
export type { TimeStepOptions } from './time_step.js';
export { causalConv1d } from './causal_conv1d.js';
export type { CausalConv1dOptions, CausalConv1dResult } from './causal_conv1d.js';
export { gatedRmsNorm } from './gated_rms_norm.js';
export type { GatedRmsNormOptions } from './gated_rms_norm.js';
export { ssdChunkScanReference } from './reference/ssd_chunk_scan.js';
export { selectiveStateUpdateReference } from './reference/selective_state_update.js';
export { causalConv1dReference } from './reference/causal_conv1d.js';
export { gatedRmsNormReference } from './reference/gated_rms_norm.js';
export { Mamba2Mixer } from './mamba2_mixer.js';
export type { Mamba2MixerOptions, Mamba2Cache, Mamba2ForwardOptions, Mamba2Output, Mamba2PreProjection } from './mamba2_mixer.js';
