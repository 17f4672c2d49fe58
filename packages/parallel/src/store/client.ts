/**
 * The TypeScript client of the TCP key-value store (torch's TCPStore semantics; protocol in
 * `protocol.ts`): `set`, `get` and `wait` (which wait for keys, with a timeout), `add`,
 * `compareSet`, `deleteKey`, `numKeys`, `check`.
 */
import { Socket } from 'node:net';
import { Frame, Reader, StoreCommand, StoreStatus } from './protocol.js';

/** A store request that timed out; `missing` lists the keys that never appeared. */
export class StoreTimeoutError extends Error {
  /** Keys still missing at the timeout. */
  readonly missing: string[];
  constructor(message: string, missing: string[]) {
    super(message);
    this.name = 'StoreTimeoutError';
    this.missing = missing;
  }
}

/** Options of {@link TcpStore.connect}. */
export interface TcpStoreOptions {
  /** Default timeout of `get`/`wait`, and how long `connect` retries a refused connection (ms; default 30 min as torch). */
  timeoutMs?: number;
}

interface Pending {
  resolve: (r: { status: number; body: Reader }) => void;
  reject: (e: Error) => void;
}

/** A connection to the store. Requests may be issued concurrently; they are answered in order. */
export class TcpStore {
  /** Host of the server. */
  readonly host: string;
  /** Port of the server. */
  readonly port: number;
  /** Default timeout of `get` and `wait` (ms). */
  readonly timeoutMs: number;
  private readonly sock: Socket;
  private pending: Pending[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private closedError?: Error;

  private constructor(sock: Socket, host: string, port: number, timeoutMs: number) {
    this.sock = sock;
    this.host = host;
    this.port = port;
    this.timeoutMs = timeoutMs;
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (e?: Error): void => {
      this.closedError ??= new Error(`the store at ${host}:${port} closed the connection${e ? ` (${e.message})` : ''}`);
      for (const p of this.pending.splice(0)) p.reject(this.closedError);
    };
    sock.on('error', fail);
    sock.on('close', () => fail());
  }

  /**
   * Connects, retrying while the server is not up yet (it may start after this process).
   *
   * @param host - server address
   * @param port - server port
   * @param opts - timeouts
   * @throws Error naming the address when no server answers within the timeout
   */
  static async connect(host: string, port: number, opts: TcpStoreOptions = {}): Promise<TcpStore> {
    const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
    const deadline = Date.now() + timeoutMs;
    let last: Error | undefined;
    while (Date.now() < deadline) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = new Socket();
          s.once('error', reject);
          s.connect(port, host, () => {
            s.off('error', reject);
            resolve(s);
          });
        });
        return new TcpStore(sock, host, port, timeoutMs);
      } catch (e) {
        last = e as Error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`could not reach the store at ${host}:${port} within ${timeoutMs} ms (${last?.message ?? 'no answer'}); is rank 0 (or the launcher) running, and MASTER_ADDR/MASTER_PORT right?`);
  }

  /** Keeps the process alive only while requests are outstanding (default: unref'ed when idle). */
  private ref(): void {
    if (this.pending.length) this.sock.ref();
    else this.sock.unref();
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 4) {
      const n = this.buf.readUInt32LE(0);
      if (this.buf.length < 4 + n) break;
      const frame = this.buf.subarray(5, 4 + n);
      const status = this.buf[4];
      this.buf = this.buf.subarray(4 + n);
      this.pending.shift()?.resolve({ status, body: new Reader(Buffer.from(frame)) });
    }
    this.ref();
  }

  private async request(f: Frame, what: string): Promise<Reader> {
    if (this.closedError) throw this.closedError;
    const r = await new Promise<{ status: number; body: Reader }>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.ref();
      this.sock.write(f.finish());
    });
    if (r.status === StoreStatus.TIMEOUT) {
      const n = r.body.u32();
      const missing = Array.from({ length: n }, () => r.body.str());
      throw new StoreTimeoutError(`store ${what} timed out; missing keys: ${missing.join(', ')}`, missing);
    }
    if (r.status === StoreStatus.ERROR) throw new Error(`store ${what}: ${r.body.str()}`);
    return r.body;
  }

  /** Sets `key` to `value` (a string is stored as UTF-8). */
  async set(key: string, value: string | Uint8Array): Promise<void> {
    const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    await this.request(new Frame(StoreCommand.SET).str(key).bytes(v), `set '${key}'`);
  }

  /** The value of `key`, waiting up to `timeoutMs` for it to be set. @throws StoreTimeoutError */
  async get(key: string, timeoutMs = this.timeoutMs): Promise<Buffer> {
    const r = await this.request(new Frame(StoreCommand.GET).str(key).u32(timeoutMs), `get '${key}' (${timeoutMs} ms)`);
    return r.bytes();
  }

  /** Adds `delta` to the integer at `key` (0 if missing) and returns the new value. */
  async add(key: string, delta: number): Promise<number> {
    const r = await this.request(new Frame(StoreCommand.ADD).str(key).i64(BigInt(delta)), `add '${key}'`);
    return Number(r.i64());
  }

  /** Waits until every key exists. @throws StoreTimeoutError naming the missing keys */
  async wait(keys: string[], timeoutMs = this.timeoutMs): Promise<void> {
    const f = new Frame(StoreCommand.WAIT).u32(keys.length);
    for (const k of keys) f.str(k);
    await this.request(f.u32(timeoutMs), `wait (${timeoutMs} ms)`);
  }

  /** Whether every key exists (no waiting). */
  async check(keys: string[]): Promise<boolean> {
    const f = new Frame(StoreCommand.CHECK).u32(keys.length);
    for (const k of keys) f.str(k);
    return (await this.request(f, 'check')).u8() === 1;
  }

  /** torch's compare_set: sets `desired` if the value equals `expected` (or is missing and `expected` is empty); returns the value stored after. */
  async compareSet(key: string, expected: string | Uint8Array, desired: string | Uint8Array): Promise<Buffer> {
    const e = typeof expected === 'string' ? Buffer.from(expected) : expected;
    const d = typeof desired === 'string' ? Buffer.from(desired) : desired;
    return (await this.request(new Frame(StoreCommand.COMPARE_SET).str(key).bytes(e).bytes(d), `compareSet '${key}'`)).bytes();
  }

  /** Deletes `key`; true if it existed. */
  async deleteKey(key: string): Promise<boolean> {
    return (await this.request(new Frame(StoreCommand.DELETE).str(key), `delete '${key}'`)).u8() === 1;
  }

  /** Number of keys stored. */
  async numKeys(): Promise<number> {
    return Number((await this.request(new Frame(StoreCommand.NUM_KEYS), 'numKeys')).i64());
  }

  /** Marks this connection as `rank`'s liveness connection (see `protocol.ts`). */
  async register(rank: number): Promise<void> {
    await this.request(new Frame(StoreCommand.REGISTER).u32(rank), 'register');
  }

  /** Ends the liveness mark (a clean exit) before closing. */
  async unregister(): Promise<void> {
    await this.request(new Frame(StoreCommand.UNREGISTER), 'unregister');
  }

  /** Closes the connection. */
  close(): void {
    this.closedError ??= new Error('the store client is closed');
    this.sock.destroy();
  }
}
