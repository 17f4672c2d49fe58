// Builds the Gloo addon before the suites run (scripts/build-native.mjs: skipped with a notice when
// libgloo-dev is missing, in which case the Gloo suites fail with that error).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build-native.mjs', import.meta.url))], { stdio: 'inherit' });
}
