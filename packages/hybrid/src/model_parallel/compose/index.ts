/** Any product TP × CP × PP × DP of the world size: the model's part on one rank, its step and its trainer. */
export { ComposedFalconH1 } from './model.js';
export type { ComposedGroups, ComposedModelOptions } from './model.js';
export { ComposedLayer } from './layer.js';
export { composedStageEnds } from './ends.js';
export type { ComposedEndsContext } from './ends.js';
export { contextParallelCores, shardMixerTerms } from './cores.js';
export { composedValueAndGrads, composedGradNorm, composedActivationShape } from './step.js';
export type { ComposedStepOptions } from './step.js';
export { ComposedTrainer } from './trainer.js';
