// The build-time half of the named native-call contract, run by `node tools/build-cuda.mjs --check`
// on freshly built addons: loads each one (no GPU needed) and compares the signatures its bindings
// export (from the C++ params structs) with the TypeScript declarations of its package, field by
// field. Prints one line per addon; exits 1 listing every difference.
//   node --import tsx tools/check-native-contract.ts tensor=/tmp/x/falcon_tensor_cuda.node mamba2=...
import { resolve } from 'node:path';
import { cudaAddonContractProblems } from '@falcon/tensor/testing';

// Importing the op packages declares their CUDA extensions (cudaExtension registers each one).
await import('@falcon/mamba2');
await import('@falcon/attention');
await import('@falcon/bitnet');

let failed = false;
for (const arg of process.argv.slice(2)) {
  const eq = arg.indexOf('=');
  if (eq < 0) throw new Error(`expected <package>=<addon file>, got '${arg}'`);
  const pkg = arg.slice(0, eq);
  const file = resolve(arg.slice(eq + 1));
  const { problems, functions } = cudaAddonContractProblems(pkg, file);
  if (problems.length) {
    failed = true;
    console.error(`${pkg}: the addon does not match its TypeScript declarations:\n  - ${problems.join('\n  - ')}`);
  } else {
    console.log(`${pkg}: the signatures of ${functions.length} bindings match the TypeScript declarations (${functions.join(', ')})`);
  }
}
process.exit(failed ? 1 : 0);
