/**
 * Reading and writing `config.json` on disk (Node); writing goes through a temporary file renamed
 * into place, like the safetensors writer.
 */
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { tempPathFor } from '../safetensors/writer.js';
import { configToJson, parseConfig } from './parse.js';
import type { HFConfig } from './parse.js';

async function configPath(path: string): Promise<string> {
  try {
    return (await stat(path)).isDirectory() ? join(path, 'config.json') : path;
  } catch {
    return path;
  }
}

/**
 * Read and validate a `config.json`.
 * @param path - the file, or the checkpoint directory holding `config.json`
 * @throws ConfigError if it cannot be read or does not validate
 */
export async function readConfig(path: string): Promise<HFConfig> {
  const file = await configPath(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError([`cannot read: ${(e as Error).message}`], file, { cause: e });
  }
  return parseConfig(text, { source: file });
}

/**
 * Write a config as `config.json` ({@link configToJson}), atomically (temporary file, then rename).
 * @param path - the file, or a directory (then `<dir>/config.json`)
 * @param config - a parsed config
 * @returns the path written
 */
export async function writeConfig(path: string, config: HFConfig): Promise<string> {
  const file = await configPath(path);
  const temp = tempPathFor(file);
  try {
    await writeFile(temp, configToJson(config), { flag: 'wx' });
    await rename(temp, file);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw new ConfigError([`cannot write: ${(e as Error).message}`], file, { cause: e });
  }
  return file;
}
