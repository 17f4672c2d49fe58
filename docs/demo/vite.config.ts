// Vite build of the demo page: @falcon packages are taken from their TypeScript sources (as in
// the tests), so the demo needs no package build; output goes to docs/demo/dist (not committed).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root,
  base: './',
  logLevel: 'warn',
  resolve: {
    alias: [{ find: /^@falcon\/tensor$/, replacement: `${repo}packages/tensor/src/index.ts` }],
  },
  build: { outDir: `${root}dist`, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
});
