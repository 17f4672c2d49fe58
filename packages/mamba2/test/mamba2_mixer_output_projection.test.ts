// Mamba2Mixer without out_proj (for layers that fuse it): no out_proj parameter, forward says to use the pre-projection methods.
import { describe, expect, it } from 'vitest';
import { Mamba2Mixer } from '../src/index.js';
import { randomTensor } from '@falcon/tensor/testing';

describe('Mamba2Mixer outputProjection: false', () => {
  it('has no out_proj and computes the pre-projection output', () => {
    const opts = { dModel: 16, nHeads: 2, headDim: 8, dState: 4, chunkSize: 4, seed: 3 };
    const fused = new Mamba2Mixer({ ...opts, outputProjection: false });
    const full = new Mamba2Mixer(opts);
    expect(Object.keys(fused.parameters())).not.toContain('out_proj.weight');
    expect(Object.keys(full.parameters())).toContain('out_proj.weight');
    const u = randomTensor([2, 5, 16], 1);
    expect(fused.forwardPreProjection(u).y.shape).toEqual([2, 5, 16]);
    expect(() => fused.forward(u)).toThrow(/built with outputProjection: false; use forwardPreProjection/);
  });
});
