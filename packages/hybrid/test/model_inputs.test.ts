// The model's forward reads nothing back from a GPU device: there token ids out of range poison
// their logits with NaN (on cpu, where reading them costs nothing, the forward names them; and
// checkInputIds names them asynchronously everywhere), and a given attention mask is
// applied as it is, so an all-ones mask gives the logits of no mask.
import { describe, expect, it } from 'vitest';
import { tf } from '@falcon/tensor';
import { expectClose } from '@falcon/tensor/testing';
import { FalconH1ForCausalLM, hybridConfig } from '../src/index.js';

const CONFIG = {
  model_type: 'falcon_h1', vocab_size: 40, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 16, mamba_d_ssm: 32, mamba_n_heads: 2, mamba_d_head: 16,
  mamba_d_state: 8, mamba_chunk_size: 8, mamba_rms_norm: true, tie_word_embeddings: true, initializer_range: 0.1,
};

describe('FalconH1ForCausalLM inputs without host reads', () => {
  const model = new FalconH1ForCausalLM(hybridConfig(CONFIG), 5);
  const good = Array.from({ length: 14 }, (_, i) => 3 + ((i * 7) % 33));

  it('an out-of-range id is an error on cpu (read for free there) and NaN logits in its sequence on a GPU backend; checkInputIds and generate name it', async () => {
    const ids = tf.tensor2d([...good, ...good.map((t, i) => (i === 4 ? 40 : t))], [2, 14], 'int32');
    if (tf.getBackend() === 'cpu') {
      expect(() => model.forward(ids)).toThrow(/^forward: token ids must be in \[0, 40\), found 40 at position 18$/);
    } else {
      const logits = (await model.forward(ids).logits.array()) as number[][][];
      const clean = (await model.forward(tf.tensor2d(good, [1, 14], 'int32')).logits.array()) as number[][][];
      expectClose(logits[0].flat(), clean[0].flat(), { rtol: 1e-5, name: 'valid sequence' }); // same ops, batch of 2 vs 1
      // (earlier positions may be NaN too: masked-out products 0·NaN inside the attention and SSD tiles)
      expect(logits[1].slice(4).flat().every(Number.isNaN)).toBe(true);
    }
    await expect(model.checkInputIds(ids)).rejects.toThrow(/checkInputIds: token ids must be in \[0, 40\), found 40/);
    await expect(model.checkInputIds(tf.tensor2d([[-1, 2]], [1, 2], 'int32'))).rejects.toThrow(/found -1/);
    await expect(model.checkInputIds(tf.tensor2d([good], [1, 14], 'int32'))).resolves.toBeUndefined();
    await expect(model.generate(ids, { maxNewTokens: 1 })).rejects.toThrow(/generate: token ids must be in \[0, 40\), found 40/);
  });

  it('a mask of ones gives the logits of no mask, and the loss of valid ids stays finite', async () => {
    const ids = tf.tensor2d([...good, ...good.slice().reverse()], [2, 14], 'int32');
    const plain = model.forward(ids);
    const ones = model.forward(ids, { attentionMask: tf.ones([2, 14], 'int32') as tf.Tensor2D, labels: ids });
    expectClose(ones.logits, plain.logits, { rtol: 1e-6, name: 'all-ones mask' }); // masking nothing: the same arithmetic
    expect(Number.isFinite((await ones.loss!.data())[0])).toBe(true);
  });
});
