/**
 * Indexing kernels of the cuda backend: GatherV2 (with batch dims) and its gradient
 * UnsortedSegmentSum (atomic adds, so the summation order of float gradients is not fixed).
 * Indices outside [0, dim) gather zeros and are skipped by the segment sum (tfjs-backend-cpu
 * throws for them instead; checking would need a device→host read on every call).
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { dtypeCode } from '../backend.js';
import { sizeOf } from '../shape.js';
import { axesOf, castInfo, input, kernel, release } from './util.js';

/** The indexing kernels. */
export const gatherKernels: KernelConfig[] = [
  kernel('GatherV2', (args) => {
    const b = args.backend;
    const x = input(args, 'x', 'GatherV2');
    const indices = input(args, 'indices', 'GatherV2');
    const { batchDims = 0 } = args.attrs as { axis: number; batchDims?: number };
    const axis = axesOf((args.attrs as { axis: number }).axis, x.shape.length)[0];
    const info = backend_util.segment_util.collectGatherOpShapeInfo(x as never, indices as never, axis, batchDims);
    const y = b.makeOutput(info.outputShape, x.dtype);
    const ci = castInfo(b, indices, 'int32');
    const nIdx = sizeOf(indices.shape) / Math.max(info.batchSize, 1);
    b.native.gather({ dt: dtypeCode(x.dtype), x: b.ptr(x), idx: b.ptr(ci), y: b.ptr(y), batch: info.batchSize, outer: info.outerSize, dim: info.dimSize, slice: info.sliceSize, nIdx });
    release(b, ci);
    return y;
  }),
  kernel('UnsortedSegmentSum', (args) => {
    const b = args.backend;
    const x = input(args, 'x', 'UnsortedSegmentSum');
    const seg = input(args, 'segmentIds', 'UnsortedSegmentSum');
    const { numSegments } = args.attrs as { numSegments: number };
    const r = seg.shape.length;
    const rest = x.shape.slice(r);
    const dtype = x.dtype === 'bool' ? 'int32' : x.dtype;
    const cx = castInfo(b, x, dtype);
    const cs = castInfo(b, seg, 'int32');
    const y = b.makeOutput([numSegments, ...rest], dtype);
    b.native.segmentSum({ dt: dtypeCode(dtype), x: b.ptr(cx), seg: b.ptr(cs), y: b.ptr(y), rows: sizeOf(seg.shape), slice: sizeOf(rest), numSegments });
    release(b, cx, cs);
    return y;
  }),
];
