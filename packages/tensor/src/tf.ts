/**
 * The tfjs-core API, re-exported so every `@falcon` package imports tensors from one place.
 *
 * `tf` is the whole `@tensorflow/tfjs-core` namespace; the most used types are also exported by name.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's gradient registrations (its Node bundle omits them); built by scripts/bundle-gradients.mjs.
import '../generated/tfjs-gradients.js';
// Sum and Mean gradients without host-side ones (see gradients.ts).
import './gradients.js';

export { tf };
export type {
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Tensor4D,
  Tensor5D,
  Scalar,
  Rank,
  DataType,
  TensorInfo,
  NamedTensorMap,
  KernelBackend,
  TypedArray,
  Variable,
} from '@tensorflow/tfjs-core';
