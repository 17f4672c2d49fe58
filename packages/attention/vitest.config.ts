// Tests resolve sibling @falcon packages from source; see vitest.shared.ts at the root.
export { default } from '../../vitest.shared.js';
