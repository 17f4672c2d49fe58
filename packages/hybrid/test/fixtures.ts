// Locating and reading the transformers fixtures (the repository's fixtures/ folder, and this package's test/fixtures).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSafetensors } from '@falcon/checkpoint';
import type { Tensor } from '@falcon/tensor';

/** Directory of a fixture: the package's own (test/fixtures/<name>) or the repository's (fixtures/<name>). */
export function fixtureDir(name: string): string {
  for (const base of ['./fixtures/', '../../../fixtures/']) {
    const dir = fileURLToPath(new URL(`${base}${name}/`, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new Error(`fixture '${name}' not found in packages/hybrid/test/fixtures/ or fixtures/ (make it with tools/fixtures/make_falcon_h1.py on the device)`);
}

/** All tensors of a fixture file. */
export async function readFixture(name: string, file: string): Promise<Map<string, Tensor>> {
  return loadSafetensors(`${fixtureDir(name)}${file}`);
}
