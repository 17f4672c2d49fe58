/**
 * WebGPU reports shader compilation and validation errors asynchronously (as "uncaptured errors"
 * on the device), so a kernel with a WGSL mistake returns zeros instead of throwing. The webgpu
 * backend records every such error here; tests call {@link takeWebgpuErrors} to fail on them.
 */

const errors: string[] = [];
const MAX_KEPT = 100;
let waitForQueue: (() => Promise<unknown>) | undefined;

/** Keep a device error and print it once. @internal */
export function recordWebgpuError(message: string): void {
  if (errors.length < MAX_KEPT) errors.push(message);
  console.error(`[@falcon/tensor] WebGPU error: ${message}`);
}

/** Set how to wait until the device has run everything submitted (the webgpu provider does). @internal */
export function setWebgpuQueueWaiter(fn: (() => Promise<unknown>) | undefined): void {
  waitForQueue = fn;
}

/**
 * The WebGPU errors the device reported (WGSL compile errors, validation errors, device loss)
 * since the last call, oldest first; the list is then cleared. Waits first until the GPU has run
 * everything submitted so far, so errors caused by that work are included.
 *
 * @returns the error messages (empty when all went well, or when webgpu was never started)
 */
export async function takeWebgpuErrors(): Promise<string[]> {
  if (waitForQueue) {
    await waitForQueue();
    // Uncaptured errors are delivered as events after the work that caused them.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return errors.splice(0, errors.length);
}
