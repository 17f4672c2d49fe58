// Shared vitest configuration: every package's tests import sibling packages from their
// TypeScript sources (not from dist), so `npm test` needs no build first.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const pkgs = ['tensor', 'mamba2', 'attention', 'bitnet', 'parallel', 'checkpoint', 'hybrid'];

export default defineConfig({
  resolve: {
    alias: [
      { find: '@falcon/tensor/testing', replacement: `${root}packages/tensor/src/testing/index.ts` },
      { find: '@falcon/parallel/testing', replacement: `${root}packages/parallel/src/testing/index.ts` },
      ...pkgs.map((p) => ({ find: new RegExp(`^@falcon/${p}$`), replacement: `${root}packages/${p}/src/index.ts` })),
    ],
  },
  test: {
    globalSetup: [`${root}vitest.global-setup.ts`],
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
