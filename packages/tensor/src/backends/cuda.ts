/**
 * The cuda backend: our tfjs KernelBackend over a Node-API addon (built from `csrc/` by
 * `npm run build:cuda`). Probing checks, in order, that this is Node, that an NVIDIA driver is
 * loaded, and that the addon was built; each missing piece is reported by name.
 */
import type { BackendProvider, BackendStatus } from './types.js';
import { BackendUnavailableError } from './types.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Where the addon is looked for: `$FALCON_CUDA_ADDON`, else `build/falcon_tensor_cuda.node` in this package. */
export async function cudaAddonPath(): Promise<string> {
  if (process.env.FALCON_CUDA_ADDON) return process.env.FALCON_CUDA_ADDON;
  const { fileURLToPath } = await import('node:url');
  return fileURLToPath(new URL('../../build/falcon_tensor_cuda.node', import.meta.url));
}

async function whyUnavailable(): Promise<string | undefined> {
  if (!isNode) return 'CUDA is only available in Node.js';
  const fs = await import('node:fs');
  if (!fs.existsSync('/proc/driver/nvidia/version') && !fs.existsSync('/dev/nvidiactl')) {
    return 'no NVIDIA driver is loaded on this machine (/proc/driver/nvidia/version and /dev/nvidiactl are absent)';
  }
  const addon = await cudaAddonPath();
  if (!fs.existsSync(addon)) {
    return `the CUDA addon is not built (${addon} is missing); build it with 'npm run build:cuda' (needs nvcc, CUDA 12+)`;
  }
  return 'the CUDA kernel backend is not implemented in this version of @falcon/tensor';
}

/** Provider of the `cuda` backend. @internal */
export const cudaProvider: BackendProvider = {
  async probe(): Promise<BackendStatus> {
    const reason = await whyUnavailable();
    return reason ? { name: 'cuda', available: false, reason } : { name: 'cuda', available: true };
  },
  async register() {
    const reason = await whyUnavailable();
    if (reason) throw new BackendUnavailableError('cuda', reason);
    return {};
  },
};
