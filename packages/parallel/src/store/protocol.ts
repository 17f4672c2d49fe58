/**
 * The wire protocol of the TCP key-value store (torch's TCPStore semantics), in one place. The
 * server (`server.ts`, run in a worker thread of rank 0 or in the launcher), the TypeScript client
 * (`client.ts`) and the C++ client of the addons (`csrc/common/store_client.h`) all speak it.
 *
 * Every integer is little-endian. A *string* or *bytes* field is a `u32` byte length followed by
 * the bytes (strings are UTF-8).
 *
 * ```
 * request  = u32 frameLength, u8 command, body      (frameLength counts the command and the body)
 * response = u32 frameLength, u8 status,  body      status: 0 OK, 1 TIMEOUT, 2 ERROR
 *
 * command            request body                                   OK response body
 * 1  SET             key, value: bytes                              (empty)
 * 2  GET             key, timeoutMs: u32                            value: bytes        (waits for the key)
 * 3  ADD             key, delta: i64                                value: i64          (value kept as decimal text)
 * 4  WAIT            n: u32, n keys, timeoutMs: u32                 (empty)
 * 5  CHECK           n: u32, n keys                                 u8 1 if every key exists, else 0
 * 6  COMPARE_SET     key, expected: bytes, desired: bytes           value now stored: bytes
 * 7  DELETE          key                                            u8 1 if it existed
 * 8  NUM_KEYS        (empty)                                        i64
 * 9  REGISTER        rank: u32                                      (empty)
 * 10 UNREGISTER      (empty)                                        (empty)
 * 11 PING            (empty)                                        (empty)
 * ```
 *
 * A TIMEOUT response to GET or WAIT carries `n: u32` and the `n` keys still missing; an ERROR
 * response carries a UTF-8 message. Requests on one connection are answered in order (a GET that
 * waits holds back the answers behind it); use one connection per thread of control.
 *
 * COMPARE_SET follows torch: if the key is missing and `expected` is empty, or the stored value
 * equals `expected`, the key is set to `desired`; the answer is the value stored afterwards (or
 * `expected` when the key is missing and `expected` is not empty).
 *
 * REGISTER marks the connection as rank `rank`'s liveness connection: when it closes without an
 * UNREGISTER (the process died), the server sets the key `__falcon/dead/<rank>` to `"1"`, which is
 * how survivors of a failed collective name the missing rank.
 */

/** Command codes of the store protocol (see the module comment). */
export const StoreCommand = {
  SET: 1,
  GET: 2,
  ADD: 3,
  WAIT: 4,
  CHECK: 5,
  COMPARE_SET: 6,
  DELETE: 7,
  NUM_KEYS: 8,
  REGISTER: 9,
  UNREGISTER: 10,
  PING: 11,
} as const;

/** Response status codes of the store protocol. */
export const StoreStatus = { OK: 0, TIMEOUT: 1, ERROR: 2 } as const;

/** The key the server sets when a registered rank's connection drops. */
export function deadKey(rank: number): string {
  return `__falcon/dead/${rank}`;
}

/** Builds request frames: `new Frame(cmd).str(k).bytes(v).finish()`. @internal */
export class Frame {
  private parts: Buffer[] = [];
  constructor(cmd: number) {
    this.parts.push(Buffer.from([cmd]));
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  i64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(v);
    this.parts.push(b);
    return this;
  }
  bytes(v: Uint8Array): this {
    this.u32(v.byteLength);
    this.parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    return this;
  }
  str(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }
  finish(): Buffer {
    const body = Buffer.concat(this.parts);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    return Buffer.concat([head, body]);
  }
}

/** Reads the fields of a response body in order. @internal */
export class Reader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  u8(): number {
    return this.buf.readUInt8(this.off++);
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }
  i64(): bigint {
    const v = this.buf.readBigInt64LE(this.off);
    this.off += 8;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  str(): string {
    return this.bytes().toString('utf8');
  }
}
