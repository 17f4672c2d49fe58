/** Data parallelism: gradient buckets, bucketed gradient averaging, parameter broadcast, the ZeRO-1 distributed optimizer. */
export { planBuckets, packBucket, unpackBucket } from './buckets.js';
export type { Bucket, BucketEntry } from './buckets.js';
export { allReduceGradients } from './all_reduce_gradients.js';
export { broadcastParameters } from './broadcast_parameters.js';
export { DistributedOptimizer } from './distributed_optimizer.js';
export type { DistributedOptimizerOptions, ShardOptimizer } from './distributed_optimizer.js';
