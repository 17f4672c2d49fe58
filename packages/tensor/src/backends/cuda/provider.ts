/**
 * The cuda backend's provider: probing (is this Node, is an NVIDIA driver loaded, is the addon
 * built and loadable, what cudaGetDeviceCount says, is cuBLASLt there; each missing piece is
 * reported by name) and registration of `CudaBackend` and its kernels with tfjs. The backend
 * itself is in `backend.ts` beside this file, its generic kernels in `kernels/`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CudaAddon, CudaProbe } from './addon.js';
import { loadCudaAddon } from './addon.js';
import type { MatmulPrecision } from './backend.js';
import { CudaBackend } from './backend.js';
import { registerCudaKernels } from './kernels/index.js';
import type { BackendProvider, BackendStatus, InitBackendOptions } from '../types.js';
import { BackendUnavailableError } from '../types.js';

export { cudaAddonPath } from './addon.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Options the cuda backend reads besides {@link InitBackendOptions}. */
export interface CudaBackendOptions extends InitBackendOptions {
  /** Products: 'tf32' (tensor cores, default), 'bf16' (bf16 tensor cores over bf16-rounded operands, and the ops' bf16 kernels) or exact 'f32' (see `MatmulPrecision`); `$FALCON_CUDA_MATMUL` changes the default. */
  matmulPrecision?: MatmulPrecision;
}

interface Found {
  addon: CudaAddon;
  probe: CudaProbe;
}

async function find(options: InitBackendOptions = {}): Promise<Found | string> {
  if (!isNode) return 'CUDA is only available in Node.js';
  const fs = await import('node:fs');
  if (!fs.existsSync('/proc/driver/nvidia/version') && !fs.existsSync('/dev/nvidiactl')) {
    return 'no NVIDIA driver is loaded on this machine (/proc/driver/nvidia/version and /dev/nvidiactl are absent)';
  }
  const { addon, error } = await loadCudaAddon();
  if (!addon) return error!;
  const probe = addon.probe();
  if (probe.error) return `${probe.error} (driver version ${probe.driverVersion}, addon built for CUDA runtime ${probe.runtimeVersion})`;
  if (probe.deviceCount === 0) return 'the NVIDIA driver reports no CUDA device (check CUDA_VISIBLE_DEVICES)';
  const device = options.device ?? 0;
  if (!Number.isInteger(device) || device < 0 || device >= probe.deviceCount) {
    return `CUDA device ${device} was asked for, but ${probe.deviceCount} device(s) are visible (0..${probe.deviceCount - 1})`;
  }
  if (!probe.cublasLt.loaded) return probe.cublasLt.error ?? 'cuBLASLt could not be loaded';
  return { addon, probe };
}

function describe(found: Found, device: number): Record<string, unknown> {
  const d = found.probe.devices?.[device];
  return {
    device,
    name: d?.name,
    computeCapability: d?.computeCapability,
    totalMemory: d?.totalMemory,
    multiprocessors: d?.multiprocessors,
    driverVersion: found.probe.driverVersion,
    runtimeVersion: found.probe.runtimeVersion,
    cublasLt: found.probe.cublasLt.path,
  };
}

let registeredDevice: number | undefined;

function defaultPrecision(): MatmulPrecision {
  const env = process.env.FALCON_CUDA_MATMUL;
  if (env === undefined || env === '') return 'tf32';
  if (env !== 'f32' && env !== 'tf32' && env !== 'bf16') throw new Error(`FALCON_CUDA_MATMUL must be f32, tf32 or bf16, got '${env}'`);
  return env;
}

/** Provider of the `cuda` backend. @internal */
export const cudaProvider: BackendProvider = {
  async probe(options): Promise<BackendStatus> {
    const found = await find(options);
    if (typeof found === 'string') return { name: 'cuda', available: false, reason: found };
    return { name: 'cuda', available: true, info: describe(found, options?.device ?? 0) };
  },
  async register(options) {
    const found = await find(options);
    if (typeof found === 'string') throw new BackendUnavailableError('cuda', found);
    const device = options?.device ?? 0;
    const precision = (options as CudaBackendOptions | undefined)?.matmulPrecision ?? defaultPrecision();
    const registered = tf.findBackendFactory('cuda') != null;
    if (registered && registeredDevice !== undefined && registeredDevice !== device) {
      throw new BackendUnavailableError('cuda', `this process already uses CUDA device ${registeredDevice}; one process drives one device`);
    }
    if (!registered) {
      const { addon } = found;
      tf.registerBackend('cuda', () => new CudaBackend(addon, device, precision), 0);
      registeredDevice = device;
    } else {
      const b = tf.findBackend('cuda') as CudaBackend | null;
      if (b && (options as CudaBackendOptions | undefined)?.matmulPrecision) b.matmulPrecision = precision;
    }
    registerCudaKernels();
    return { ...describe(found, device), matmulPrecision: precision };
  },
};
