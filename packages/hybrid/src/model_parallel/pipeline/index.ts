/** Pipeline parallelism of Falcon-H1: the stage, its layer split, the pipelined step and trainer. */
export { pipelineLayerRanges } from './partition.js';
export { FalconH1PipelineStage, wholeStageEnds } from './stage.js';
export type { PipelineStageEnds, PipelineStageLayer, PipelineStageOptions, StageInputs, StageRoles } from './stage.js';
export { pipelineValueAndGrads } from './step.js';
export type { PipelineBatch, PipelineStepOptions } from './step.js';
export { PipelineTrainer } from './trainer.js';
export type { PipelineParallelOptions } from './trainer.js';
export { recordForward, backwardFromTape, freeTape } from './tape.js';
export type { RecordedForward } from './tape.js';
