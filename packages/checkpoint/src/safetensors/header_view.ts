/**
 * What every safetensors source (an in-memory buffer, a file on disk) answers from its parsed
 * header alone: metadata, tensor names, header entries and shapes.
 */
import { SafetensorsError } from '../errors.js';
import type { SafetensorsHeader, SafetensorsTensorInfo } from './header.js';

/** The header-only part of a safetensors source. */
export abstract class SafetensorsHeaderView {
  /** The parsed, validated header. */
  abstract readonly header: SafetensorsHeader;
  /** The file name used in error messages (undefined for an anonymous buffer). */
  protected abstract get sourceName(): string | undefined;

  /** The `__metadata__` string map (empty if the file has none). */
  get metadata(): Readonly<Record<string, string>> {
    return this.header.metadata ?? {};
  }

  /** Tensor names, in the order of their data. */
  get names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  /** Whether the file holds a tensor of this name. @param name - tensor name */
  has(name: string): boolean {
    return this.header.byName.has(name);
  }

  /** The header entry (dtype, shape, offsets) of a tensor. @param name - tensor name @throws SafetensorsError if absent */
  info(name: string): SafetensorsTensorInfo {
    const t = this.header.byName.get(name);
    if (!t) throw new SafetensorsError('no tensor of this name in the file', { file: this.sourceName, tensor: name });
    return t;
  }

  /** Every tensor's shape by name (what `validateCheckpoint` takes). */
  shapes(): Map<string, readonly number[]> {
    return new Map(this.header.tensors.map((t) => [t.name, t.shape]));
  }
}
