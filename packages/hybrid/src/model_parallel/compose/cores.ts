/**
 * The context-parallel cores of a tensor-parallel rank's heads: ring attention over its local
 * query and KV heads, and Mamba-2 state passing (or all-to-all) over its local heads and groups (a view of its
 * pieces with the sizes {@link statePassingScan} / {@link allToAllScan} read, its heads mapped to
 * its groups as the TP layout has them, unevenly under a routed split). Both run across the CP
 * group; TP ranks run them on their own heads independently.
 */
import type { ProcessGroup } from '@falcon/parallel';
import type { Tensor } from '@falcon/tensor';
import type { HybridConfig } from '../../config.js';
import { ringAttention } from '../context_parallel/ring_attention.js';
import { allToAllScan } from '../context_parallel/all_to_all_scan.js';
import type { ContextParallelMambaMode } from '../context_parallel/context_parallel_model.js';
import { statePassingScan } from '../context_parallel/state_passing.js';
import type { SsdMixerTerms } from '../context_parallel/ssd_terms.js';
import type { AttentionShardCore } from '../tensor_parallel/attention_shard.js';
import type { BlockLayout } from '../tensor_parallel/layout.js';
import type { MambaShardCore, MambaShardParams } from '../tensor_parallel/mamba_shard.js';

/**
 * A TP rank's Mamba-2 pieces seen as a mixer of `localHeads` heads and `localGroups` groups, each
 * head mapped to the local group its segment shares (`block.segments`; uneven under a routed split).
 */
export function shardMixerTerms(config: HybridConfig, p: MambaShardParams, block: BlockLayout): SsdMixerTerms {
  const b = config.base;
  const nHeads = block.heads[1] - block.heads[0];
  const nGroups = block.shared[1] - block.shared[0];
  const dSsm = nHeads * b.mamba_d_head;
  const params: Record<string, Tensor> = {};
  for (const k of ['conv1d.weight', 'conv1d.bias', 'dt_bias', 'A_log', 'D']) if (p[k]) params[k] = p[k];
  const headGroups = new Array<number>(nHeads);
  for (const s of block.segments) headGroups.fill(s.shared, s.heads[0], s.heads[1]);
  return {
    nHeads,
    headDim: b.mamba_d_head,
    nGroups,
    dState: b.mamba_d_state,
    dConv: b.mamba_d_conv,
    dSsm,
    convDim: dSsm + 2 * nGroups * b.mamba_d_state,
    chunkSize: b.mamba_chunk_size,
    timeStepLimit: b.time_step_limit ?? [0, Infinity],
    parameters: () => params,
    headGroups,
  };
}

/**
 * The cores of {@link TensorParallelContext.contextParallel} for the CP group `cp`: each rank holds
 * two mirrored chunks of every sequence, `2L = seqlen / c` positions (and their padding mask, if any).
 * @param mode - the Mamba-2 mode: state passing (default) or all-to-all over the rank's heads (its local head count divisible by c)
 */
export function contextParallelCores(config: HybridConfig, cp: ProcessGroup, mode: ContextParallelMambaMode = 'state-passing'): { attend: AttentionShardCore; mamba: MambaShardCore } {
  const scan = mode === 'all-to-all' ? allToAllScan : statePassingScan;
  return {
    attend: (q, k, v, mask) => ringAttention(q, k, v, { group: cp, seqlen: (q.shape[1] as number) * cp.size, keyPaddingMask: mask }),
    mamba: (xBC, dt, p, block, mask) => scan(xBC, dt, shardMixerTerms(config, p, block), cp, (xBC.shape[1] as number) * cp.size, mask),
  };
}
