/**
 * AdamW with decoupled weight decay (Loshchilov & Hutter), PyTorch's update order:
 * p ← p − lr·wd·p; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − lr·m̂/(√v̂ + ε),
 * with per-parameter learning-rate and weight-decay multipliers (μP parameter groups). Each
 * parameter's update is one fused `adamwStep` kernel of @falcon/tensor.
 */
import { adamwStep, tf, variableFrom } from '@falcon/tensor';
import type { Tensor, Variable } from '@falcon/tensor';

/** AdamW hyper-parameters. */
export interface AdamWOptions {
  /** β1, β2 (default 0.9, 0.95). */
  betas?: [number, number];
  /** ε added to √v̂ (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay (default 0.1). */
  weightDecay?: number;
  /** Per-parameter multipliers of the learning rate and of the weight decay (μP groups); default 1 and 1. */
  groups?: (name: string) => { lrMultiplier?: number; weightDecayMultiplier?: number };
}

/** The AdamW optimizer over named variables. */
export class AdamW {
  /** Number of steps taken. */
  stepCount = 0;
  private readonly m = new Map<string, Variable>();
  private readonly v = new Map<string, Variable>();
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;
  private readonly wd: number;
  private readonly mult = new Map<string, { lr: number; wd: number }>();

  /**
   * @param params - the trainable variables by name (transformers names)
   * @param options - hyper-parameters
   */
  constructor(
    private readonly params: Record<string, Variable>,
    options: AdamWOptions = {},
  ) {
    [this.b1, this.b2] = options.betas ?? [0.9, 0.95];
    this.eps = options.eps ?? 1e-8;
    this.wd = options.weightDecay ?? 0.1;
    for (const [name, p] of Object.entries(params)) {
      const g = options.groups?.(name) ?? {};
      this.mult.set(name, { lr: g.lrMultiplier ?? 1, wd: g.weightDecayMultiplier ?? 1 });
      this.m.set(name, variableFrom(tf.zerosLike(p), false));
      this.v.set(name, variableFrom(tf.zerosLike(p), false));
    }
  }

  /**
   * Apply one update: one fused `adamwStep` per parameter, nothing read back to the host.
   * @param grads - gradient of the loss for each parameter (same names and shapes); missing ones are not updated
   * @param lr - the learning rate of this step (before group multipliers)
   * @param gradScale - optional float32 scalar tensor multiplying every gradient first (the clip
   *   coefficient of `globalNormClip`, kept on the device)
   */
  step(grads: Record<string, Tensor>, lr: number, gradScale?: Tensor): void {
    for (const name of Object.keys(grads)) {
      if (!(name in this.params)) throw new Error(`AdamW.step: gradient for unknown parameter '${name}'`);
    }
    this.stepCount++;
    const step = this.stepCount;
    tf.tidy(() => {
      for (const [name, p] of Object.entries(this.params)) {
        const g = grads[name];
        if (!g) continue;
        const { lr: lm, wd: wm } = this.mult.get(name)!;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const r = adamwStep({ param: p, grad: g, m, v, gradScale }, { lr: lr * lm, beta1: this.b1, beta2: this.b2, eps: this.eps, weightDecay: this.wd * wm, step });
        m.assign(r.m);
        v.assign(r.v);
        p.assign(r.param);
      }
    });
  }

  /** The optimizer state as tensors (`m.<name>`, `v.<name>`) plus the step count, for checkpoints. */
  state(): { tensors: Record<string, Tensor>; step: number } {
    const tensors: Record<string, Tensor> = {};
    for (const [k, t] of this.m) tensors[`m.${k}`] = t;
    for (const [k, t] of this.v) tensors[`v.${k}`] = t;
    return { tensors, step: this.stepCount };
  }

  /**
   * Restore the state written by {@link AdamW.state}.
   * @throws when a moment is missing or has the wrong shape
   */
  loadState(tensors: Record<string, Tensor>, step: number): void {
    for (const [prefix, map] of [['m', this.m], ['v', this.v]] as const) {
      for (const [k, t] of map) {
        const s = tensors[`${prefix}.${k}`];
        if (!s) throw new Error(`optimizer state: '${prefix}.${k}' is missing`);
        if (!tf.util.arraysEqual(s.shape, t.shape)) throw new Error(`optimizer state: '${prefix}.${k}' has shape [${s.shape}], expected [${t.shape}]`);
        t.assign(s);
      }
    }
    this.stepCount = step;
  }

  /** Free the moment buffers. */
  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
