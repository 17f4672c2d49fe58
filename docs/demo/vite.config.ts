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
    alias: [
      ...['tensor', 'mamba2', 'attention', 'bitnet', 'parallel', 'checkpoint', 'hybrid'].map((p) => ({
        find: new RegExp(`^@falcon/${p}$`),
        replacement: `${repo}packages/${p}/src/index.ts`,
      })),
      // Node modules that file-handling code imports; the page never calls them.
      { find: /^node:(fs|fs\/promises|path|url|crypto|buffer|util|module|net|os|child_process|worker_threads)$/, replacement: `${root}src/node_shim.ts` },
    ],
  },
  // the trainer's test-only kill points read process.env.FALCON_TEST_KILL_AT; a page has no process
  define: { 'process.env.FALCON_TEST_KILL_AT': 'undefined' },
  build: { outDir: `${root}dist`, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
});
