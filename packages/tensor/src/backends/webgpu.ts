/**
 * The webgpu backend: tfjs-backend-webgpu over the browser's `navigator.gpu`, or in Node over
 * Dawn through the optional `webgpu` npm package. Nothing here is loaded until asked for, so a
 * CPU-only user never loads Dawn.
 */
import type { BackendProvider, BackendStatus, InitBackendOptions } from './types.js';
import { BackendUnavailableError } from './types.js';

interface GpuLike {
  requestAdapter(o?: { powerPreference?: string; forceFallbackAdapter?: boolean }): Promise<unknown>;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Find `navigator.gpu`, installing Dawn's Node bindings first when running in Node. */
async function findGpu(): Promise<GpuLike> {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (!isNode) throw new BackendUnavailableError('webgpu', 'this browser exposes no navigator.gpu (WebGPU disabled or unsupported)');
  let dawn: { create: (flags: string[]) => GpuLike; globals: Record<string, unknown> };
  try {
    const specifier = 'webgpu';
    dawn = (await import(/* @vite-ignore */ specifier)) as typeof dawn;
  } catch (e) {
    throw new BackendUnavailableError(
      'webgpu',
      `the optional 'webgpu' package (Dawn for Node) could not be loaded: ${(e as Error).message.split('\n')[0]}; install it with 'npm install webgpu'`,
    );
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  if (g.navigator) {
    try {
      Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    } catch {
      g.navigator = { ...g.navigator, gpu };
    }
  } else {
    g.navigator = { gpu };
  }
  return gpu;
}

async function findAdapter(options: InitBackendOptions = {}): Promise<{ adapter: unknown; info: Record<string, unknown> }> {
  const gpu = await findGpu();
  const powerPreference = options.powerPreference ?? 'high-performance';
  let adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter && options.allowFallbackAdapter !== false) adapter = await gpu.requestAdapter({ powerPreference, forceFallbackAdapter: true });
  if (!adapter) {
    throw new BackendUnavailableError(
      'webgpu',
      'no WebGPU adapter was found' + (isNode ? ' (in Node, Dawn needs a Vulkan driver: a GPU driver or SwiftShader via VK_ICD_FILENAMES)' : ''),
    );
  }
  const a = adapter as { info?: Record<string, unknown>; limits?: Record<string, unknown>; isFallbackAdapter?: boolean };
  const info: Record<string, unknown> = {
    vendor: a.info?.vendor,
    architecture: a.info?.architecture,
    description: a.info?.description,
    device: a.info?.device,
    fallback: a.isFallbackAdapter ?? (a.info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter,
    maxStorageBufferBindingSize: a.limits?.maxStorageBufferBindingSize,
    maxComputeWorkgroupStorageSize: a.limits?.maxComputeWorkgroupStorageSize,
  };
  return { adapter, info };
}

/** Provider of the `webgpu` backend. @internal */
export const webgpuProvider: BackendProvider = {
  async probe(options): Promise<BackendStatus> {
    try {
      const { info } = await findAdapter(options);
      return { name: 'webgpu', available: true, info };
    } catch (e) {
      return { name: 'webgpu', available: false, reason: e instanceof BackendUnavailableError ? e.reason : String(e) };
    }
  },
  async register(options) {
    const { info } = await findAdapter(options);
    // Importing the backend registers its factory with tfjs-core (it asks navigator.gpu itself).
    const specifier = '@tensorflow/tfjs-backend-webgpu';
    await import(/* @vite-ignore */ specifier);
    return info;
  },
};
