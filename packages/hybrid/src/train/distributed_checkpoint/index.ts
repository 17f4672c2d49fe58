/**
 * Distributed checkpoints: each rank saves its own shards with their `ShardSpec`s, rank 0
 * writes the manifest last; any layout loads them re-sharded; `exportHuggingFace` writes one
 * Hugging Face checkpoint.
 */
export { saveDistributedCheckpoint } from './save.js';
export type { DistributedSaveParts } from './save.js';
export { loadDistributedCheckpoint } from './load.js';
export type { DistributedLoadOptions, LoadedDistributedCheckpoint } from './load.js';
export { readDistributedCheckpoint, manifestPlans, rankFile, LAYOUT, DISTRIBUTED_FORMAT } from './manifest.js';
export type { DistributedCheckpoint, DistributedManifest, DistributedTrainerState, LayoutSizes, RankEntry, StoredTensor } from './manifest.js';
export { ShardReader } from './shard_reader.js';
export type { ShardReaderOptions, AssembledValues, VerifyMode } from './shard_reader.js';
export { modelPlan, optimizerStateToHf, optimizerStateFromHf, loadModelFromDistributed, restoreFromDistributed } from './one_rank.js';
export type { LoadModelOptions } from './one_rank.js';
export { exportHuggingFace } from './export.js';
export type { ExportOptions, ExportSummary } from './export.js';
