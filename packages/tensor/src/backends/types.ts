/** Types shared by the backend providers (cpu, webgpu, cuda) and the backend lifecycle. */

/** The backends `@falcon` can run on. */
export type BackendName = 'cpu' | 'webgpu' | 'cuda';

/** Every backend name, in order of preference for "the default". */
export const BACKEND_NAMES: readonly BackendName[] = ['cpu', 'webgpu', 'cuda'];

/** Whether a backend can be used on this machine, and if not, why not. */
export interface BackendStatus {
  /** The backend. */
  name: BackendName;
  /** True when `initBackend(name)` will succeed. */
  available: boolean;
  /** When unavailable: what is missing, in words a user can act on. */
  reason?: string;
  /** When available: what was found (adapter, device, driver...). */
  info?: Record<string, unknown>;
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /** WebGPU: which adapter to ask for (default `'high-performance'`). */
  powerPreference?: 'high-performance' | 'low-power';
  /** WebGPU: accept a fallback (software) adapter such as SwiftShader (default true). */
  allowFallbackAdapter?: boolean;
  /** CUDA: which device to use (default 0). */
  device?: number;
  /** CUDA: products on TF32 tensor cores ('tf32', default), on bf16 tensor cores over bf16-rounded operands with the ops' bf16 kernels ('bf16'), or exact float32 ('f32'); see `MatmulPrecision`. */
  matmulPrecision?: 'tf32' | 'bf16' | 'f32';
}

/** One backend's start-up logic. @internal */
export interface BackendProvider {
  /** Find out, without side effects on the active backend, whether this backend can run here. */
  probe(options?: InitBackendOptions): Promise<BackendStatus>;
  /** Register the backend with tfjs (idempotent); throws {@link BackendUnavailableError} when it cannot. */
  register(options?: InitBackendOptions): Promise<Record<string, unknown>>;
}

/** Thrown when a backend is asked for that this machine cannot provide. */
export class BackendUnavailableError extends Error {
  /**
   * @param backend - the backend that was asked for
   * @param reason - what is missing
   * @param available - the backends that would work instead
   */
  constructor(
    readonly backend: BackendName,
    readonly reason: string,
    readonly available: BackendName[] = [],
  ) {
    super(
      `backend '${backend}' is unavailable: ${reason}` +
        (available.length ? ` (available backends: ${available.join(', ')})` : ''),
    );
    this.name = 'BackendUnavailableError';
  }
}
