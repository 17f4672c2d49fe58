/**
 * Durable file writing for checkpoints: a new file written and fsynced (with the `write:<name>`
 * kill point half-way when a test arms it), fsync of files and directories, and SHA-256 digests.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { killPoint, killPointArmed } from './kill_point.js';

/** A file's size and SHA-256 (hex). */
export interface FileDigest {
  /** Size in bytes. */
  bytes: number;
  /** SHA-256 of the contents, lowercase hex. */
  sha256: string;
}

/** Size and SHA-256 of a file. @param path - the file */
export async function digest(path: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** SHA-256 (hex) of bytes. @param bytes - the data */
export function sha256(bytes: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest('hex');
}

/** fsync a file or a directory (a no-op where the file system cannot sync a directory). @param path - the file or directory */
export async function fsync(path: string): Promise<void> {
  const h = await open(path, 'r');
  try {
    await h.sync();
  } catch (e) {
    // some file systems cannot fsync a directory; the rename is still atomic there
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await h.close();
  }
}

/**
 * Write a new file and fsync it; with a `write:<name>` kill point armed, die after half of it.
 * @param path - the file (must not exist)
 * @param text - its contents
 * @param name - the file's name for the kill point
 * @param step - the step being saved, for the kill point
 */
export async function writeDurable(path: string, text: string, name: string, step: number): Promise<void> {
  const bytes = Buffer.from(text);
  const h = await open(path, 'wx');
  try {
    let start = 0;
    if (killPointArmed(`write:${name}`, step)) {
      start = bytes.byteLength >> 1;
      await h.write(bytes, 0, start, 0);
      await h.sync();
      killPoint(`write:${name}`, step);
    }
    await h.write(bytes, start, bytes.byteLength - start, start);
    await h.sync();
  } finally {
    await h.close();
  }
}
