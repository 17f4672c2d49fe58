/**
 * The flat typed-array view of an SSD problem that the CPU kernels work on, shared by the scan,
 * its backward and the decode step (a decode step is a scan of length 1 from a given state).
 */
import type { HostTensor } from '@falcon/tensor';

/** Sizes and row-major data of one SSD call. @internal */
export interface SsdProblem {
  /** batch */
  nb: number;
  /** seqlen */
  l: number;
  /** nheads */
  h: number;
  /** headdim */
  p: number;
  /** ngroups */
  g: number;
  /** dstate */
  n: number;
  /** `[batch, seqlen, nheads, headdim]` */
  x: Float32Array;
  /** `[batch, seqlen, nheads]` */
  dt: Float32Array;
  /** `[nheads]` */
  A: Float32Array;
  /** `[batch, seqlen, ngroups, dstate]` */
  B: Float32Array;
  /** `[batch, seqlen, ngroups, dstate]` */
  C: Float32Array;
  /** `[nheads]` */
  D?: Float32Array;
  /** `[batch, seqlen, nheads, headdim]` */
  z?: Float32Array;
  /** `[nheads]` */
  dtBias?: Float32Array;
  /** `[batch, nheads, headdim, dstate]` */
  init?: Float32Array;
  /** `[batch, seqlen]` */
  seqIdx?: Int32Array;
}

/** The tensors of an SSD call, as host kernels receive them. @internal */
export interface SsdHostInputs {
  /** `[batch, seqlen, nheads, headdim]` (or `[batch, nheads, headdim]` for a step) */
  x: HostTensor;
  /** `[batch, seqlen, nheads]` (or `[batch, nheads]`) */
  dt: HostTensor;
  /** `[nheads]` */
  A: HostTensor;
  /** `[batch, seqlen, ngroups, dstate]` (or `[batch, ngroups, dstate]`) */
  B: HostTensor;
  /** like B */
  C: HostTensor;
  /** `[nheads]` */
  D?: HostTensor;
  /** like x */
  z?: HostTensor;
  /** `[nheads]` */
  dtBias?: HostTensor;
  /** `[batch, nheads, headdim, dstate]` */
  init?: HostTensor;
  /** `[batch, seqlen]` */
  seqIdx?: HostTensor;
}

/**
 * Build the problem; `step` reads x, dt, B, C without their seqlen axis (seqlen 1).
 * @internal
 */
export function ssdProblem(t: SsdHostInputs, step: boolean): SsdProblem {
  const xs = t.x.shape;
  const bs = t.B.shape;
  const [nb, l, h, p] = step ? [xs[0], 1, xs[1], xs[2]] : xs;
  const [g, n] = step ? [bs[1], bs[2]] : [bs[2], bs[3]];
  const f = (v: HostTensor | undefined) => v?.values as Float32Array | undefined;
  return {
    nb, l, h, p, g, n,
    x: t.x.values as Float32Array,
    dt: t.dt.values as Float32Array,
    A: t.A.values as Float32Array,
    B: t.B.values as Float32Array,
    C: t.C.values as Float32Array,
    D: f(t.D),
    z: f(t.z),
    dtBias: f(t.dtBias),
    init: f(t.init),
    seqIdx: t.seqIdx?.values as Int32Array | undefined,
  };
}
