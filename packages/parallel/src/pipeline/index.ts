/** Pipeline parallelism: schedules as data, the stage executor and its transports. */
export { oneFOneBSchedule, interleavedSchedule, pipelineSchedule, checkSchedule } from './schedule.js';
export type { PipelineAction, PipelineShape, PipelineScheduleKind, ScheduleReplay } from './schedule.js';
export { runPipeline } from './executor.js';
export type { PipelineStageFunctions, RunPipelineOptions } from './executor.js';
export { groupTransport, memoryTransports } from './transport.js';
export type { PipelineTransport } from './transport.js';
export { PIPELINE_FREE_TAG } from './executor.js';
export { stageSum, stageBroadcast } from './stage_reduce.js';
export type { StagePosition } from './stage_reduce.js';
