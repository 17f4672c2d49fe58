/** The cpu backend: tfjs-backend-cpu, always available, the default. */
import '@tensorflow/tfjs-backend-cpu';
import type { BackendProvider } from '../types.js';
import { registerFastBatchMatMul } from './batch_mat_mul.js';
import { registerFastUnsortedSegmentSum } from './unsorted_segment_sum.js';
import { consumeCpuNodeNotice } from './cpu_notice.js';

registerFastUnsortedSegmentSum();
registerFastBatchMatMul();
consumeCpuNodeNotice();

/** Provider of the `cpu` backend. @internal */
export const cpuProvider: BackendProvider = {
  async probe() {
    return { name: 'cpu', available: true, info: { kernels: 'tfjs-backend-cpu + @falcon kernels' } };
  },
  async register() {
    return { kernels: 'tfjs-backend-cpu + @falcon kernels' };
  },
};
