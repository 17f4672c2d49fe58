// Test helpers: where the transformers fixtures are (the repository's fixtures/ folder), and
// throwaway temporary directories under os.tmpdir().
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** packages/checkpoint/test → ../../../fixtures (the repository's top-level `fixtures/`). */
const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

/** Absolute path of a fixture file, e.g. `fixture('falcon-h1-tiny', 'model.safetensors')`; throws clearly if absent. */
export function fixture(...parts: string[]): string {
  const p = join(FIXTURES, ...parts);
  if (!existsSync(p)) {
    throw new Error(`fixture ${parts.join('/')} not found at ${p}: the tests expect the transformers fixtures in the repository's fixtures/ folder`);
  }
  return p;
}

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh empty directory under os.tmpdir(), removed after the test file. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'falcon-ckpt-'));
  made.push(d);
  return d;
}

/** The names in a directory, sorted (to check that no temporary file is left). */
export function listDir(dir: string): string[] {
  return readdirSync(dir).sort();
}
