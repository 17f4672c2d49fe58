/**
 * Checks of a model's inputs and sizes made before anything is allocated: the parameter count a
 * config implies (an absurd `num_hidden_layers: 1e9` is refused before a billion layers are built),
 * token ids against the vocabulary, and sequence lengths against `max_position_embeddings`.
 */
import type { FalconH1Config } from '@falcon/checkpoint';
import { falconH1Dims } from '@falcon/checkpoint';
import { tf } from '@falcon/tensor';
import type { Tensor } from '@falcon/tensor';

/** The machine's memory in bytes (Node's os.totalmem(); a browser reports none: the memory checks are skipped there). */
function machineMemory(): number {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const os = proc?.getBuiltinModule?.('node:os') as { totalmem(): number } | undefined;
  return os ? os.totalmem() : Infinity;
}

/**
 * Elements one tensor may hold: 2³¹ − 1, the range of the 32-bit indices the WebGPU and CUDA kernels
 * (and tfjs's int32 index tensors) use.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

/** What {@link modelSize} computes. */
export interface ModelSize {
  /** Parameters of the whole model (weights, norms, biases). */
  parameters: number;
  /** The largest single weight: its transformers name (layer 0 for per-layer weights) and element count. */
  largest: { name: string; elements: number };
}

/**
 * The parameter count a Falcon-H1 config implies (every layer with the config's head counts),
 * computed from the sizes alone, without allocating anything.
 * @param c - a parsed config
 */
export function modelSize(c: FalconH1Config): ModelSize {
  const dims = falconH1Dims(c);
  const d = c.hidden_size;
  const attn = c.num_attention_heads * dims.head_dim;
  const kv = c.num_key_value_heads * dims.head_dim;
  const weights: [string, number][] = [
    ['model.embed_tokens.weight', c.vocab_size * d],
    ['self_attn.q_proj.weight', attn * d],
    ['self_attn.k_proj.weight', kv * d],
    ['self_attn.v_proj.weight', kv * d],
    ['self_attn.o_proj.weight', d * attn],
    ['mamba.in_proj.weight', dims.in_proj_dim * d],
    ['mamba.conv1d.weight', dims.conv_dim * c.mamba_d_conv],
    ['mamba.out_proj.weight', d * dims.d_ssm],
    ['feed_forward.gate_proj.weight', c.intermediate_size * d],
  ];
  const top = c.vocab_size * d * (c.tie_word_embeddings ? 1 : 2) + d;
  const perLayer =
    (attn + 2 * kv) * d +
    d * attn +
    dims.in_proj_dim * d +
    dims.conv_dim * (c.mamba_d_conv + (c.mamba_conv_bias ? 1 : 0)) +
    3 * dims.mamba_n_heads +
    (c.mamba_rms_norm ? dims.d_ssm : 0) +
    d * dims.d_ssm +
    3 * c.intermediate_size * d +
    2 * d +
    (c.attention_bias ? attn + 2 * kv + d : 0) +
    (c.mamba_proj_bias ? dims.in_proj_dim : 0) +
    (c.projectors_bias ? d : 0) +
    (c.mlp_bias ? 2 * c.intermediate_size + d : 0);
  const largest = weights.reduce((a, b) => (b[1] > a[1] ? b : a));
  return { parameters: top + c.num_hidden_layers * perLayer, largest: { name: largest[0], elements: largest[1] } };
}

function gb(bytes: number): string {
  const g = bytes / 2 ** 30;
  return `${g >= 100 ? g.toFixed(0) : g.toPrecision(3)} GiB`;
}

/**
 * Refuse a config whose model cannot exist on this machine: a weight beyond
 * {@link MAX_TENSOR_ELEMENTS}, or float32 weights alone larger than the machine's memory.
 * @param c - a parsed config
 * @param source - what to name in the message (a file, a flag)
 * @param memoryBytes - the memory to compare with (default: os.totalmem())
 * @throws one line naming the source, the sizes and the limit
 */
export function checkModelSize(c: FalconH1Config, source = 'config', memoryBytes = machineMemory()): void {
  const { parameters, largest } = modelSize(c);
  const sizes = `num_hidden_layers ${c.num_hidden_layers}, hidden_size ${c.hidden_size}, intermediate_size ${c.intermediate_size}, vocab_size ${c.vocab_size}`;
  if (largest.elements > MAX_TENSOR_ELEMENTS) {
    throw new Error(`${source}: ${largest.name} would hold ${largest.elements.toExponential(3)} elements, more than the ${MAX_TENSOR_ELEMENTS} one tensor can index (${sizes})`);
  }
  if (parameters * 4 > memoryBytes) {
    throw new Error(
      `${source}: the model would have ${parameters.toExponential(3)} parameters (${gb(parameters * 4)} as float32), more than this machine's ${gb(memoryBytes)} of memory (${sizes})`,
    );
  }
}

/**
 * Refuse a training batch whose activations cannot fit: a lower bound of what one step holds,
 * the logits and their gradient (2·B·L·V floats) plus one stored activation per layer
 * (B·L·d·layers), against the machine's memory.
 * @param c - the model's config
 * @param batch - sequences per microbatch (B)
 * @param seqlen - tokens per sequence (L)
 * @param source - what to name in the message (the flags)
 * @param memoryBytes - the memory to compare with (default: os.totalmem())
 */
export function checkBatchSize(c: FalconH1Config, batch: number, seqlen: number, source: string, memoryBytes = machineMemory()): void {
  const bytes = 4 * batch * seqlen * (2 * c.vocab_size + c.hidden_size * c.num_hidden_layers);
  if (bytes > memoryBytes) {
    throw new Error(`${source}: one step needs at least ${gb(bytes)} for its logits and activations (batch ${batch} × seqlen ${seqlen}, vocab_size ${c.vocab_size}), more than this machine's ${gb(memoryBytes)} of memory`);
  }
}

/**
 * Refuse a sequence longer than the model's positions.
 * @param where - the entry point, for the message
 * @param length - tokens in the sequence (prompt plus new tokens when generating)
 * @param c - the model's config
 */
export function checkSequenceLength(where: string, length: number, c: FalconH1Config): void {
  if (length > c.max_position_embeddings) {
    throw new Error(`${where}: sequence length ${length} is beyond the model's max_position_embeddings ${c.max_position_embeddings}`);
  }
}

/**
 * Check token ids before a forward pass: int32 `[batch, seqlen]`, not empty, at most
 * `max_position_embeddings` long, a mask of the same shape, and on the cpu backend every id in
 * `[0, vocab_size)` (elsewhere {@link checkTokenIds} runs where the ids are on the host).
 * @param where - the entry point, for the message
 * @param ids - int32 `[batch, seqlen]`
 * @param c - the model's config
 * @param mask - optional `[batch, seqlen]` attention mask
 */
export function checkInputIds(where: string, ids: Tensor, c: FalconH1Config, mask?: Tensor): void {
  if (!(ids instanceof tf.Tensor) || ids.rank !== 2 || ids.dtype !== 'int32') throw new Error(`${where}: input ids must be an int32 tensor [batch, seqlen], got ${ids?.dtype} [${ids?.shape}]`);
  if ((ids.shape[1] ?? 0) < 1) throw new Error(`${where}: input ids are empty`);
  if (mask && !tf.util.arraysEqual(mask.shape, ids.shape)) throw new Error(`${where}: attention mask has shape [${mask.shape}], expected [${ids.shape}]`);
  checkSequenceLength(where, ids.shape[1]!, c);
  // The id values are read only where that costs no device round trip (the cpu backend): on a GPU
  // backend a read would stall every step (and cannot be synchronous on WebGPU in Node); there the
  // entry points check them asynchronously (FalconH1ForCausalLM.checkInputIds, generate) or on
  // the host before the tensor is made (the trainer's data).
  if (tf.getBackend() === 'cpu') checkTokenIds(where, ids.dataSync() as Int32Array, c.vocab_size);
}

/**
 * Every id in `[0, vocab)`.
 * @param where - what to name in the message (an entry point, a file)
 * @param ids - the token ids
 * @param vocab - the vocabulary size
 */
export function checkTokenIds(where: string, ids: ArrayLike<number>, vocab: number): void {
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (!(v >= 0 && v < vocab)) throw new Error(`${where}: token ids must be in [0, ${vocab}), found ${v} at position ${i}`);
  }
}
