/**
 * AdamW step on the CPU: one pass over the typed arrays, each operation rounded to float32 in the
 * order of the tfjs-ops reference (so the results equal it bit for bit).
 */
import { hostKernel } from '../../op/host_kernel.js';
import type { AdamwStepAttrs, AdamwStepInputName, AdamwStepOptionalName, AdamwStepOutputName } from '../../adamw_step_signature.js';
import { adamwConstants } from '../../adamw_step_signature.js';

const f = Math.fround;

/** CPU kernel of `FalconAdamwStep`. @internal */
export const adamwStepCpu = hostKernel<AdamwStepInputName, AdamwStepOptionalName, AdamwStepAttrs, AdamwStepOutputName>(
  ({ param, grad, m, v, gradScale }, attrs) => {
    const k = adamwConstants(attrs);
    const [b1, omb1, b2, omb2, bc1, bc2, eps, lr, decay] = [k.b1, k.omb1, k.b2, k.omb2, k.bc1, k.bc2, k.eps, k.lr, k.decay].map(f);
    const p = param.values as Float32Array;
    const g = grad.values as Float32Array;
    const mv = m.values as Float32Array;
    const vv = v.values as Float32Array;
    const scale = gradScale ? (gradScale.values as Float32Array)[0] : 1;
    const n = p.length;
    const po = new Float32Array(n);
    const mo = new Float32Array(n);
    const vo = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const gi = gradScale ? f(g[i] * scale) : g[i];
      const mi = f(f(mv[i] * b1) + f(gi * omb1));
      const vi = f(f(vv[i] * b2) + f(f(gi * gi) * omb2));
      const update = f(f(mi / bc1) / f(f(Math.sqrt(f(vi / bc2))) + eps));
      const decayed = decay !== 1 ? f(p[i] * decay) : p[i];
      po[i] = f(decayed - f(update * lr));
      mo[i] = mi;
      vo[i] = vi;
    }
    return {
      paramOut: { values: po, shape: param.shape, dtype: 'float32' },
      mOut: { values: mo, shape: param.shape, dtype: 'float32' },
      vOut: { values: vo, shape: param.shape, dtype: 'float32' },
    };
  },
);
