/**
 * Hosting the store: {@link hostStoreInWorker} runs {@link serveStore} in a Node worker thread, so
 * that the process hosting it (rank 0) may block its main thread in a C++ rendezvous or in a
 * synchronous collective without stalling the store the other ranks wait on.
 */
import { Worker } from 'node:worker_threads';
import { serveStore } from './server.js';
import type { StoreServerHandle, StoreServerOptions } from './server.js';

/**
 * Starts the store server in a worker thread (unref'ed: it never keeps the process alive).
 *
 * @param opts - where to listen (`port: 0` picks a free port)
 * @returns the port and `close()`
 * @throws Error naming the address when the port cannot be bound (e.g. already in use)
 */
export async function hostStoreInWorker(opts: StoreServerOptions): Promise<StoreServerHandle> {
  // The worker runs the server's own source text (it has no imports), so the same code works from
  // TypeScript sources (tests), from dist/ and from a bundle. `__name` guards against bundlers that
  // wrap functions with a name-keeping helper.
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    var __name = (f) => f;
    const serve = (${serveStore.toString()});
    serve(workerData).then(
      (h) => {
        parentPort.postMessage({ port: h.port });
        parentPort.on('message', (m) => { if (m === 'close') h.close().then(() => parentPort.postMessage({ closed: true })); });
      },
      (e) => parentPort.postMessage({ error: String(e && e.message || e) }),
    );`;
  const worker = new Worker(code, { eval: true, workerData: opts });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (m: { port?: number; error?: string }) => {
      if (m.error) reject(new Error(`the store could not listen on ${opts.host ?? '0.0.0.0'}:${opts.port}: ${m.error}`));
      else resolve(m.port!);
    });
    worker.once('error', reject);
  }).catch(async (e) => {
    await worker.terminate();
    throw e;
  });
  worker.unref();
  return {
    port,
    close: async () => {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        worker.on('message', (m: { closed?: boolean }) => {
          if (m.closed) {
            clearTimeout(t);
            resolve();
          }
        });
        worker.postMessage('close');
      });
      await worker.terminate();
    },
  };
}
