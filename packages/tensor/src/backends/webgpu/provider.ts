/**
 * The webgpu backend: tfjs-backend-webgpu over the browser's `navigator.gpu`, or in Node over
 * Dawn through the optional `webgpu` npm package. Nothing here is loaded until asked for, so a
 * CPU-only user never loads Dawn or tfjs-backend-webgpu.
 *
 * We choose the adapter and create the device ourselves (power preference and fallback policy from
 * {@link InitBackendOptions}), then register tfjs's `WebGPUBackend` constructed on that device in
 * place of tfjs-backend-webgpu's own factory, so the backend always runs on the adapter reported.
 */
import type { WebGPUBackend as TfjsWebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { recordWebgpuError, setWebgpuQueueWaiter } from '../../op/webgpu/errors.js';
import { registerWebgpuCumulativeFix } from './cumulative.js';
import type { BackendProvider, BackendStatus, InitBackendOptions } from '../types.js';
import { BackendUnavailableError } from '../types.js';

/** The parts of the WebGPU API this file uses (the DOM's GPU types are not assumed to be present). */
interface GpuLike {
  requestAdapter(o?: { powerPreference?: string; forceFallbackAdapter?: boolean }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info?: Record<string, unknown>;
  isFallbackAdapter?: boolean;
  features: { has(name: string): boolean } & Iterable<string>;
  limits: Record<string, number>;
  requestDevice(d?: { requiredFeatures?: string[]; requiredLimits?: Record<string, number> }): Promise<DeviceLike>;
}
interface DeviceLike {
  queue: { onSubmittedWorkDone(): Promise<void> };
  lost: Promise<{ reason?: string; message?: string }>;
  addEventListener(type: 'uncapturederror', fn: (ev: { error: { message: string } }) => void): void;
  destroy(): void;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** The limits tfjs-backend-webgpu raises to the adapter's maxima, and the ones we report. */
const RAISED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
] as const;
const REPORTED_LIMITS = [
  ...RAISED_LIMITS,
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
] as const;

/** Why Dawn may find no adapter in Node, with what to do about it. */
function nodeHint(): string {
  const icd = process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES;
  if (!icd) {
    return ' (in Node, Dawn needs a Vulkan driver: a GPU driver, or SwiftShader with VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json from Debian\'s chromium package, plus the Vulkan loader libvulkan1; see docs/webgpu.md)';
  }
  return ` (VK_ICD_FILENAMES=${icd}: check that the file exists and that the Vulkan loader libvulkan.so.1 is installed, e.g. Debian's libvulkan1; see docs/webgpu.md)`;
}

let dawnGpu: GpuLike | undefined;

/** Find `navigator.gpu`, installing Dawn's Node bindings first when running in Node. */
async function findGpu(): Promise<GpuLike> {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (dawnGpu) return dawnGpu;
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
  // Dawn's globals (GPUBufferUsage, GPUMapMode...) are what tfjs-backend-webgpu expects to find.
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  dawnGpu = gpu;
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

function isFallback(a: AdapterLike): boolean {
  return !!(a.isFallbackAdapter ?? a.info?.isFallbackAdapter);
}

/** Ask for an adapter as the options say; throws a clear error when there is none (or only a refused fallback). */
async function findAdapter(options: InitBackendOptions = {}): Promise<AdapterLike> {
  const gpu = await findGpu();
  const powerPreference = options.powerPreference ?? 'high-performance';
  const allowFallback = options.allowFallbackAdapter ?? true;
  let adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter && allowFallback) adapter = await gpu.requestAdapter({ powerPreference, forceFallbackAdapter: true });
  if (!adapter) throw new BackendUnavailableError('webgpu', 'no WebGPU adapter was found' + (isNode ? nodeHint() : ''));
  if (!allowFallback && isFallback(adapter)) {
    throw new BackendUnavailableError(
      'webgpu',
      `only a fallback (software) adapter was found (${adapterLabel(adapter)}) and allowFallbackAdapter is false`,
    );
  }
  return adapter;
}

function adapterLabel(a: AdapterLike): string {
  const i = a.info ?? {};
  const name = [i.vendor, i.architecture].filter((s) => typeof s === 'string' && s).join(' / ') || 'unknown adapter';
  return i.description ? `${name} (${String(i.description)})` : name;
}

/** What `initBackend('webgpu')` reports: the adapter, whether it is software, its features and limits. */
function describe(a: AdapterLike, options: InitBackendOptions): Record<string, unknown> {
  const i = a.info ?? {};
  const features = Array.from(a.features);
  const limits: Record<string, number> = {};
  for (const k of REPORTED_LIMITS) if (typeof a.limits[k] === 'number') limits[k] = a.limits[k];
  return {
    adapter: adapterLabel(a),
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    fallback: isFallback(a),
    runtime: isNode ? 'Dawn (webgpu npm package)' : 'navigator.gpu',
    powerPreference: options.powerPreference ?? 'high-performance',
    features: features.sort(),
    limits,
  };
}

/** The device we started, and the options it was started with. */
let started: { key: string; device: DeviceLike; info: Record<string, unknown>; factory: () => tf.KernelBackend } | undefined;

function optionsKey(o: InitBackendOptions = {}): string {
  return `${o.powerPreference ?? 'high-performance'}|${o.allowFallbackAdapter ?? true}`;
}

async function startDevice(options: InitBackendOptions = {}) {
  const adapter = await findAdapter(options);
  const requiredLimits: Record<string, number> = {};
  for (const k of RAISED_LIMITS) if (typeof adapter.limits[k] === 'number') requiredLimits[k] = adapter.limits[k];
  // timestamp-query lets tf.time() report kernel times on the GPU; tfjs uses it when present.
  const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  let device: DeviceLike;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (e) {
    throw new BackendUnavailableError('webgpu', `the adapter ${adapterLabel(adapter)} refused to create a device: ${(e as Error).message}`);
  }
  const info = describe(adapter, options);
  let destroying = false;
  device.addEventListener('uncapturederror', (ev) => recordWebgpuError(ev.error.message));
  void device.lost.then((l) => {
    if (!destroying) recordWebgpuError(`WebGPU device lost (${l.reason ?? 'unknown'}): ${l.message ?? ''}`);
  });
  return { device, info, adapter, destroy: () => ((destroying = true), device.destroy()) };
}

let destroyCurrent: (() => void) | undefined;

/** Provider of the `webgpu` backend. @internal */
export const webgpuProvider: BackendProvider = {
  async probe(options): Promise<BackendStatus> {
    if (started && started.key === optionsKey(options)) return { name: 'webgpu', available: true, info: started.info };
    try {
      return { name: 'webgpu', available: true, info: describe(await findAdapter(options), options ?? {}) };
    } catch (e) {
      return { name: 'webgpu', available: false, reason: e instanceof BackendUnavailableError ? e.reason : String(e) };
    }
  },
  async register(options) {
    const key = optionsKey(options);
    if (started && started.key === key && tf.findBackendFactory('webgpu') === started.factory) return started.info;
    const { device, info, adapter, destroy } = await startDevice(options);
    // Importing the package registers kernels and its own factory (asking navigator.gpu itself);
    // we replace that factory with one that builds the backend on our device. A literal import:
    // bundlers put tfjs-backend-webgpu in a chunk of its own, loaded only here.
    let WebGPUBackend: typeof TfjsWebGPUBackend;
    try {
      ({ WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu'));
    } catch (e) {
      destroy();
      throw new BackendUnavailableError('webgpu', `@tensorflow/tfjs-backend-webgpu could not be loaded: ${(e as Error).message.split('\n')[0]}`);
    }
    registerWebgpuCumulativeFix(); // tfjs's reverse Cumsum/Cumprod are wrong at some shapes (cumulative.ts)
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    destroyCurrent?.();
    destroyCurrent = destroy;
    // tfjs reads GPU data synchronously (dataSync, arraySync, hostKernel) through OffscreenCanvas,
    // which Node lacks: say so plainly instead of failing with "OffscreenCanvas is not defined".
    class FalconWebGPUBackend extends WebGPUBackend {
      override readSync(dataId: object): tf.BackendValues {
        const cached = this.tensorMap.has(dataId) ? this.tensorMap.get(dataId).values : undefined;
        if (cached == null && typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === 'undefined') {
          throw new Error(
            'webgpu: synchronous reads (dataSync, arraySync, bufferSync, a hostKernel) of data on the GPU need OffscreenCanvas, ' +
              'which this runtime (Node) lacks; read with `await t.data()` / `await t.array()` first (then dataSync works)',
          );
        }
        return super.readSync(dataId);
      }
    }
    const factory = () => new FalconWebGPUBackend(device as unknown as GPUDevice, adapter.info as unknown as GPUAdapterInfo);
    tf.registerBackend('webgpu', factory, 1);
    started = { key, device, info, factory };
    // Before waiting, flush what tfjs batched but has not submitted yet.
    setWebgpuQueueWaiter(async () => {
      // The instance if tfjs made one (findBackend would make one).
      const b = tf.engine().registry.webgpu as (tf.KernelBackend & { submitQueue?: () => void; endComputePassEncoder?: () => void; commandEncoder?: unknown }) | undefined;
      if (b?.commandEncoder) {
        b.endComputePassEncoder?.(); // a compute pass may still be open (outputs disposed unread)
        b.submitQueue?.();
      }
      await device.queue.onSubmittedWorkDone();
    });
    return info;
  },
};
