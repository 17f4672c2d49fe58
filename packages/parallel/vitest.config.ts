// Tests resolve sibling @falcon packages from source; see vitest.shared.ts at the root. The
// parallel suites also need the Gloo addon: test/global-setup.ts builds it (a no-op when up to date).
import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

export default mergeConfig(shared, {
  test: {
    globalSetup: ['./test/global-setup.ts'],
    // Every test file spawns its own processes; one file at a time keeps 2 cores from oversubscribing.
    fileParallelism: false,
  },
});
