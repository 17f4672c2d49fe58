/** A TCP port that is free right now, for the rendezvous store of a single-node job. */
import { createServer } from 'node:net';

/**
 * Ask the OS for a free port on `host` (listen on port 0, read the port, close). Another process can
 * take it before the store binds it; torchrun accepts the same race for `--master-port` 0.
 * @param host - the address to probe (default 127.0.0.1)
 * @returns the port number
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error(`freePort: could not get a port on ${host}`))));
    });
  });
}
