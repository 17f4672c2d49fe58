/**
 * `@falcon/parallel`: process groups and collectives on Gloo (cpu tensors) and NCCL (cuda
 * tensors), the TCP store their rendezvous goes through, Megatron's model-parallel groups and the
 * differentiable communication mappings of tensor/sequence/context parallelism.
 *
 * @packageDocumentation
 */
export { VERSION } from './version.js';
// the launcher and data parallelism (the dp side of issue 14)
export * from './launch/index.js';
export * from './data_parallel/index.js';
export { initProcessGroup, getWorld, newGroup, destroyProcessGroup, isInitialized, ProcessGroup } from './process_group.js';
export type { Backend, InitProcessGroupOptions, NewGroupOptions } from './process_group.js';
export { CollectiveError } from './errors.js';
export type { P2PHandle, Work } from './work.js';
export type { ReduceOp } from './engine.js';
export { allReduce, allReduceSync, allReduceBuffer } from './collectives/all_reduce.js';
export type { AllReduceOptions } from './collectives/all_reduce.js';
export { allGather, allGatherSync, allGatherList, allGatherBuffer } from './collectives/all_gather.js';
export type { AllGatherOptions } from './collectives/all_gather.js';
export { reduceScatter, reduceScatterSync, reduceScatterBuffer } from './collectives/reduce_scatter.js';
export type { ReduceScatterOptions } from './collectives/reduce_scatter.js';
export { broadcast } from './collectives/broadcast.js';
export type { BroadcastOptions } from './collectives/broadcast.js';
export { send, recv, isend, irecv } from './collectives/send_recv.js';
export type { SendOptions, RecvOptions } from './collectives/send_recv.js';
export { allToAll, allToAllSync } from './collectives/all_to_all.js';
export type { AllToAllOptions } from './collectives/all_to_all.js';
export { barrier } from './collectives/barrier.js';
export type { GroupOption } from './collectives/common.js';
export { TcpStore, StoreTimeoutError } from './store/client.js';
export type { TcpStoreOptions } from './store/client.js';
export { serveStore } from './store/server.js';
export type { StoreServerOptions, StoreServerHandle } from './store/server.js';
export { hostStoreInWorker } from './store/host.js';
export { initializeModelParallel, rankLayout, rankCoords, rankAt } from './model_parallel.js';
export type { ModelParallelSizes, ModelParallelCoords, ModelParallelGroups, RankLayout } from './model_parallel.js';
export { copyToRegion } from './mappings/copy_to_region.js';
export { reduceFromRegion } from './mappings/reduce_from_region.js';
export { scatterToSequence } from './mappings/scatter_to_sequence.js';
export { gatherFromSequence } from './mappings/gather_from_sequence.js';
export { reduceScatterToSequence } from './mappings/reduce_scatter_to_sequence.js';
export { allToAllMapping } from './mappings/all_to_all.js';
export type { SequenceMappingOptions } from './mappings/common.js';
export { replicated, checkShardSpec, localShape, takeShard } from './sharding/shard_spec.js';
export type { ShardSpec, ShardPlan } from './sharding/shard_spec.js';
export { planReshard } from './sharding/reshard.js';
export type { SourceShard, ReshardPiece, PlanReshardOptions } from './sharding/reshard.js';
export { checkPlans } from './sharding/check_plans.js';
export { copyBox } from './sharding/copy_box.js';
export type { IndexedArray } from './sharding/copy_box.js';
export { reshardTensor } from './sharding/reshard_tensor.js';
export type { HeldShard } from './sharding/reshard_tensor.js';
// pipeline parallelism (issue 15, PP)
export * from './pipeline/index.js';
// context parallelism (issue 15, CP)
export { contextParallelLayout, contextParallelPositions, chunkOwner, rankMajorPositions, rankMajorToNatural, naturalToRankMajor, splitSequence } from './context_parallel/layout.js';
export type { ContextParallelLayout } from './context_parallel/layout.js';
export { exchange, ringShift } from './context_parallel/exchange.js';
export type { ExchangeOptions } from './context_parallel/exchange.js';
export { startExchange, startRingShift } from './context_parallel/start_exchange.js';
export type { PendingExchange } from './context_parallel/start_exchange.js';
export { exclusiveChunkScan } from './context_parallel/chunk_scan.js';
export { placeShard } from './sharding/place_shard.js';
// tensor parallelism (issue 15)
export { enterTensorParallel, exitTensorParallel, allReduceInRegion } from './tensor_parallel/region.js';
export type { TensorParallelOptions } from './tensor_parallel/region.js';
export { columnParallelLinear, rowParallelLinear, ColumnParallelLinear, RowParallelLinear } from './tensor_parallel/linear_layers.js';
export type { Projection, ColumnParallelOptions, RowParallelOptions } from './tensor_parallel/linear_layers.js';
export { vocabParallelEmbedding } from './tensor_parallel/vocab_parallel_embedding.js';
export type { VocabParallelEmbeddingOptions } from './tensor_parallel/vocab_parallel_embedding.js';
export { vocabParallelCrossEntropy } from './tensor_parallel/vocab_parallel_cross_entropy.js';
export type { VocabParallelCrossEntropyOptions } from './tensor_parallel/vocab_parallel_cross_entropy.js';
export { shardedMeanAbs, shardedAbsMax } from './tensor_parallel/sharded_scales.js';
export type { ShardedMeanAbsOptions } from './tensor_parallel/sharded_scales.js';
export { reduceShardGradient, gatherShards } from './tensor_parallel/shard_gradients.js';
