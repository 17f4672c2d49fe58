// Runs once before any test file: makes sure @falcon/tensor's generated tfjs gradient bundle exists.
// @ts-expect-error -- a plain .mjs build script without type declarations
import { bundleGradients } from './packages/tensor/scripts/bundle-gradients.mjs';

export default async function setup(): Promise<void> {
  await (bundleGradients as () => Promise<string>)();
}
