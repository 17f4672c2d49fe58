/**
 * `@falcon/hybrid`: the Falcon-H1 hybrid model (attention ∥ Mamba-2 in every layer, one shared
 * output projection), its configuration, generation with the hybrid cache, the trainer pieces and
 * the `falcon` command line.
 *
 * @packageDocumentation
 */
export { VERSION } from './version.js';
export { hybridConfig, validateHybridConfig, isUniform, layerDims, EXTRA_FIELDS } from './config.js';
export type { HybridConfig, LayerHeads, BitNetLayers } from './config.js';
export { ParallelHybridLayer } from './parallel_hybrid_layer.js';
export type { LayerCache, LayerInputs } from './parallel_hybrid_layer.js';
export { FalconH1ForCausalLM, positionIds } from './model.js';
export type { ForwardOptions, ForwardOutput } from './model.js';
export { generate, generateStream, prefillPrompt } from './generate.js';
export { writeRandomPretrained } from './random_pretrained.js';
export type { RandomPretrainedOptions } from './random_pretrained.js';
export type { GenerateOptions } from './generate.js';
export type { SamplingOptions } from './sampling.js';
export { nextToken, sampleTokens, canSampleOnDevice, checkSamplingOptions } from './sampling.js';
export { checkBatchSize, checkInputIds, checkModelSize, checkSequenceLength, checkTokenIds, modelSize, MAX_TENSOR_ELEMENTS } from './checks.js';
export type { ModelSize } from './checks.js';
export { loadPretrained } from './model.js';
export { savePretrained, configJson } from './pretrained.js';
export type { FromPretrainedOptions, SavePretrainedOptions } from './pretrained.js';
export { causalLmLoss, lmHeadCrossEntropy, IGNORE_INDEX } from './loss.js';
export type { LmHeadLossOptions } from './loss.js';
export { mlp } from './mlp.js';
export type { MlpParams } from './mlp.js';
export { linear, bitnetMatMul, product, weightShape } from './linear.js';
export type { LinearWeight } from './linear.js';
export { packTernaryWeight, bitnetWeightNames } from './pack_ternary.js';
export { recomputed } from './recompute.js';
export type { RecomputePolicy } from './recompute.js';
export { AdamW } from './train/adamw.js';
export type { AdamWOptions } from './train/adamw.js';
export { warmupCosine } from './train/schedule.js';
export type { ScheduleOptions } from './train/schedule.js';
export { clipByGlobalNorm, globalGradNorm, globalNormClip } from './train/clip.js';
export { TokenBatches } from './train/data.js';
export type { Batch, BatchPart } from './train/data.js';
export { ByteTokenizer } from './tokenizer/byte.js';
export type { Tokenizer } from './tokenizer/byte.js';
export { convertFromLlama } from './convert.js';
export type { ConvertOptions } from './convert.js';
export { Trainer, adamWOptions } from './train/trainer.js';
export type { TrainOptions, StepMetrics, PendingStepMetrics, TrainerOptimizer } from './train/trainer.js';
export { DataParallelTrainer } from './train/data_parallel_trainer.js';
export type { DataParallelOptions } from './train/data_parallel_trainer.js';
export { readCommitted } from './train/checkpoint.js';
export { describeRun } from './train/run_directory.js';
export type { CommittedCheckpoint, TrainerState } from './train/checkpoint.js';
export { PRESETS } from './presets.js';
export { HFTokenizer, loadTokenizer } from './tokenizer/hf.js';
export * from './train/distributed_checkpoint/index.js';
export { topWeights, embedTokens } from './model.js';
export * from './model_parallel/pipeline/index.js';
export * from './model_parallel/compose/index.js';
// context parallelism (issue 15, CP)
export { contextParallelHidden, contextParallelLoss, contextParallelValueAndGrads } from './model_parallel/context_parallel/context_parallel_model.js';
export type { ContextParallelOptions, ContextParallelMambaMode } from './model_parallel/context_parallel/context_parallel_model.js';
export { ringAttention, mergeAttention } from './model_parallel/context_parallel/ring_attention.js';
export type { RingAttentionOptions } from './model_parallel/context_parallel/ring_attention.js';
export { statePassingScan } from './model_parallel/context_parallel/state_passing.js';
export type { SsdMixerTerms } from './model_parallel/context_parallel/ssd_terms.js';
export { allToAllScan } from './model_parallel/context_parallel/all_to_all_scan.js';
// tensor parallelism (issue 15)
export { TensorParallelFalconH1 } from './model_parallel/tensor_parallel/model.js';
export type { TensorParallelModelOptions, TensorParallelForwardOptions } from './model_parallel/tensor_parallel/model.js';
export { tensorParallelLayout, evenSplit, blockLayout } from './model_parallel/tensor_parallel/layout.js';
export type { HeadSplit, HeadSegment, BlockLayout, LayerLayout, TensorParallelLayout, TensorParallelLayoutOptions } from './model_parallel/tensor_parallel/layout.js';
export { routeHeads, routeModel, naiveSplit, headCosts, rankCosts, imbalance, CALIBRATION } from './model_parallel/tensor_parallel/router.js';
export type { HeadCosts, HeadCostOptions, BackendCalibration } from './model_parallel/tensor_parallel/router.js';
export { tensorParallelLayer } from './model_parallel/tensor_parallel/layer.js';
export type { TensorParallelContext } from './model_parallel/tensor_parallel/layer.js';
export { attentionShard, ropeOf } from './model_parallel/tensor_parallel/attention_shard.js';
export type { AttentionShardConfig, AttentionShardCore } from './model_parallel/tensor_parallel/attention_shard.js';
export { mambaShard, localMup } from './model_parallel/tensor_parallel/mamba_shard.js';
export { tensorParallelElementWeights, weightedSquaredSum } from './model_parallel/tensor_parallel/element_weights.js';
export type { MambaShardConfig, MambaShardParams, MambaShardCore } from './model_parallel/tensor_parallel/mamba_shard.js';
export { gatedNormShard } from './model_parallel/tensor_parallel/gated_norm_shard.js';
export type { GatedNormShardConfig } from './model_parallel/tensor_parallel/gated_norm_shard.js';
export { weightMeanAbs, shardedBitMatMul, rowAbsMax, countedRows } from './model_parallel/tensor_parallel/bitnet_shard.js';
export { ChatTemplate } from './tokenizer/chat_template.js';
export type { ChatMessage, ChatRenderOptions } from './tokenizer/chat_template.js';
export { IncrementalDecoder } from './tokenizer/incremental.js';
export type { EncodeOptions } from './tokenizer/byte.js';
