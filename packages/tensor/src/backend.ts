/**
 * Backend lifecycle: which backends exist on this machine, and switching to one of them.
 * `cpu` is always there and is the default; `webgpu` and `cuda` are probed on demand.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpuProvider } from './backends/cpu/provider.js';
import { cudaProvider } from './backends/cuda/provider.js';
import type { BackendName, BackendProvider, BackendStatus, InitBackendOptions } from './backends/types.js';
import { BACKEND_NAMES, BackendUnavailableError } from './backends/types.js';
import { webgpuProvider } from './backends/webgpu/provider.js';

const providers: Record<BackendName, BackendProvider> = { cpu: cpuProvider, webgpu: webgpuProvider, cuda: cudaProvider };
const infos = new Map<BackendName, Record<string, unknown>>();

function checkName(name: string): asserts name is BackendName {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown backend '${name}': expected one of ${BACKEND_NAMES.join(', ')}`);
  }
}

/**
 * Report every backend `@falcon` knows, whether it can run here, and why not when it cannot.
 * Probing never changes the active backend.
 */
export async function availableBackends(options?: InitBackendOptions): Promise<BackendStatus[]> {
  return Promise.all(BACKEND_NAMES.map((n) => providers[n].probe(options)));
}

/**
 * Make `name` the active backend for every tensor op that follows.
 *
 * @param name - `'cpu'` (default), `'webgpu'` or `'cuda'`
 * @returns the backend's status, with what was found (adapter, device) in `info`
 * @throws {@link BackendUnavailableError} naming what is missing and which backends would work
 */
export async function initBackend(name: BackendName = 'cpu', options?: InitBackendOptions): Promise<BackendStatus> {
  checkName(name);
  let info: Record<string, unknown>;
  try {
    info = await providers[name].register(options);
  } catch (e) {
    if (!(e instanceof BackendUnavailableError)) throw e;
    const others = (await availableBackends(options)).filter((s) => s.available && s.name !== name).map((s) => s.name);
    throw new BackendUnavailableError(name, e.reason, others);
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new BackendUnavailableError(name, `tfjs could not start it: ${(e as Error).message}`);
  }
  if (!ok) throw new BackendUnavailableError(name, 'tfjs could not start it (see the warning above)');
  await tf.ready();
  infos.set(name, info);
  return { name, available: true, info };
}

/** The name of the active backend. */
export function currentBackend(): BackendName {
  const b = tf.getBackend();
  checkName(b);
  return b;
}

/** What {@link initBackend} found for a started backend (adapter, device...), if it was started. */
export function backendInfo(name: BackendName): Record<string, unknown> | undefined {
  return infos.get(name);
}
