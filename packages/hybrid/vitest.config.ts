// Tests resolve sibling @falcon packages from source; see vitest.shared.ts at the root. The
// distributed suites (data, pipeline, context parallel, distributed checkpoints) start Gloo
// process groups: @falcon/parallel's test setup builds its addon (a no-op when up to date).
import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

export default mergeConfig(shared, {
  test: {
    globalSetup: ['../parallel/test/global-setup.ts'],
  },
});
