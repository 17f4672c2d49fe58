/**
 * The TCP key-value store server (protocol: `protocol.ts`). {@link serveStore} is written to be
 * self-contained (no imports, no helpers from outside its body) because `host.ts` runs its source
 * text in a worker thread: the server must never share an event loop with a thread that blocks in
 * a C++ rendezvous or a synchronous collective. The launcher may also call it directly on its own
 * (never blocking) event loop.
 */
import type * as Net from 'node:net';

/** Where the server listens. */
export interface StoreServerOptions {
  /** Address to bind (default `0.0.0.0`, every interface). */
  host?: string;
  /** Port (0 picks a free one). */
  port: number;
}

/** A running server. */
export interface StoreServerHandle {
  /** The port it listens on. */
  port: number;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

/**
 * Serves the store until `close()`. Self-contained: see the module comment.
 *
 * @param opts - where to listen
 * @returns once listening: the port and `close()`
 */
export function serveStore(opts: StoreServerOptions): Promise<StoreServerHandle> {
  const net = (process as unknown as { getBuiltinModule(n: string): typeof Net }).getBuiltinModule('node:net');
  const C = { SET: 1, GET: 2, ADD: 3, WAIT: 4, CHECK: 5, COMPARE_SET: 6, DELETE: 7, NUM_KEYS: 8, REGISTER: 9, UNREGISTER: 10, PING: 11 };
  const data = new Map<string, Buffer>();
  type Waiter = { keys: string[]; done: () => void };
  let waiters: Waiter[] = [];
  const sockets = new Set<Net.Socket>();

  const frame = (status: number, body: Buffer[] = []): Buffer => {
    const b = Buffer.concat([Buffer.from([status]), ...body]);
    const h = Buffer.alloc(4);
    h.writeUInt32LE(b.length);
    return Buffer.concat([h, b]);
  };
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return b;
  };
  const bytes = (v: Buffer): Buffer => Buffer.concat([u32(v.length), v]);
  const keysBody = (ks: string[]): Buffer[] => [u32(ks.length), ...ks.map((k) => bytes(Buffer.from(k, 'utf8')))];
  const wake = (): void => {
    const still: Waiter[] = [];
    const ready: Waiter[] = [];
    for (const w of waiters) (w.keys.every((k) => data.has(k)) ? ready : still).push(w);
    waiters = still;
    for (const w of ready) w.done();
  };
  const setKey = (k: string, v: Buffer): void => {
    data.set(k, v);
    wake();
  };

  /** Waits for `keys`; resolves true when all exist, false at the timeout. */
  const waitKeys = (keys: string[], timeoutMs: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (keys.every((k) => data.has(k))) return resolve(true);
      const w: Waiter = { keys, done: () => (clearTimeout(t), resolve(true)) };
      const t = setTimeout(() => {
        waiters = waiters.filter((x) => x !== w);
        resolve(false);
      }, timeoutMs);
      waiters.push(w);
    });

  const handle = async (req: Buffer, conn: { rank: number }): Promise<Buffer> => {
    let off = 1;
    const rd32 = (): number => {
      const v = req.readUInt32LE(off);
      off += 4;
      return v;
    };
    const rdBytes = (): Buffer => {
      const n = rd32();
      const v = req.subarray(off, off + n);
      off += n;
      return Buffer.from(v);
    };
    const rdStr = (): string => rdBytes().toString('utf8');
    const cmd = req[0];
    switch (cmd) {
      case C.SET: {
        const k = rdStr();
        setKey(k, rdBytes());
        return frame(0);
      }
      case C.GET: {
        const k = rdStr();
        const ok = await waitKeys([k], rd32());
        return ok ? frame(0, [bytes(data.get(k)!)]) : frame(1, keysBody([k]));
      }
      case C.ADD: {
        const k = rdStr();
        const delta = req.readBigInt64LE(off);
        const cur = data.has(k) ? BigInt(data.get(k)!.toString('utf8')) : 0n;
        const next = cur + delta;
        setKey(k, Buffer.from(next.toString(), 'utf8'));
        const b = Buffer.alloc(8);
        b.writeBigInt64LE(next);
        return frame(0, [b]);
      }
      case C.WAIT: {
        const n = rd32();
        const ks: string[] = [];
        for (let i = 0; i < n; i++) ks.push(rdStr());
        const ok = await waitKeys(ks, rd32());
        return ok ? frame(0) : frame(1, keysBody(ks.filter((k) => !data.has(k))));
      }
      case C.CHECK: {
        const n = rd32();
        const ks: string[] = [];
        for (let i = 0; i < n; i++) ks.push(rdStr());
        return frame(0, [Buffer.from([ks.every((k) => data.has(k)) ? 1 : 0])]);
      }
      case C.COMPARE_SET: {
        const k = rdStr();
        const expected = rdBytes();
        const desired = rdBytes();
        const cur = data.get(k);
        if ((cur === undefined && expected.length === 0) || (cur !== undefined && cur.equals(expected))) {
          setKey(k, desired);
          return frame(0, [bytes(desired)]);
        }
        return frame(0, [bytes(cur ?? expected)]);
      }
      case C.DELETE: {
        const existed = data.delete(rdStr());
        return frame(0, [Buffer.from([existed ? 1 : 0])]);
      }
      case C.NUM_KEYS: {
        const b = Buffer.alloc(8);
        b.writeBigInt64LE(BigInt(data.size));
        return frame(0, [b]);
      }
      case C.REGISTER:
        conn.rank = rd32();
        return frame(0);
      case C.UNREGISTER:
        conn.rank = -1;
        return frame(0);
      case C.PING:
        return frame(0);
      default:
        return frame(2, [bytes(Buffer.from(`unknown store command ${cmd}`, "utf8"))]);
    }
  };

  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    const conn = { rank: -1 };
    let pending: Buffer = Buffer.alloc(0);
    let chain: Promise<void> = Promise.resolve();
    sock.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 4) {
        const n = pending.readUInt32LE(0);
        if (pending.length < 4 + n) break;
        const req = pending.subarray(4, 4 + n);
        pending = pending.subarray(4 + n);
        chain = chain.then(async () => {
          let out: Buffer;
          try {
            out = await handle(req, conn);
          } catch (e) {
            out = frame(2, [bytes(Buffer.from(`store server: ${(e as Error).message}`, "utf8"))]);
          }
          if (!sock.destroyed) sock.write(out);
        });
      }
    });
    const gone = (): void => {
      sockets.delete(sock);
      if (conn.rank >= 0) setKey(`__falcon/dead/${conn.rank}`, Buffer.from('1'));
      conn.rank = -1;
    };
    sock.on('close', gone);
    sock.on('error', () => undefined);
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      const addr = server.address() as Net.AddressInfo;
      resolve({
        port: addr.port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
