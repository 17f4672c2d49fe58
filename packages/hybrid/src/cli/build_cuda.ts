/**
 * `falcon build-cuda`: builds the CUDA addons of the installed `@falcon` packages from the `.cu`
 * sources they ship (`csrc/`) with nvcc, into each package's `build/` folder, where they are found
 * before the prebuilt platform packages. The builder is `@falcon/tensor`'s (`falcon-build-cuda`);
 * this command runs it with the same options.
 */
import type { Command } from './command.js';

/** The `falcon build-cuda` command. */
export const buildCudaCommand: Command = {
  summary: 'build the CUDA addons of the installed @falcon packages from source (needs nvcc)',
  help: [
    'Usage: falcon build-cuda [--arch sm_90a[,sm_80]] [--package tensor[,mamba2]] [--check] [--out-dir DIR] [--if-available] [--verbose]',
    '',
    "Compiles each installed @falcon package's csrc/ with nvcc (CUDA 12+) into <package>/build/,",
    'which the cuda backend prefers over the prebuilt addons of the platform packages',
    '(@falcon/<name>-linux-x64-cuda). Not needed where those are installed; use it for another',
    'GPU architecture, another platform, or a CUDA toolkit of your own.',
    '',
    'Options:',
    '  --arch LIST      target architectures (default sm_80, sm_90a and compute_90 PTX)',
    '  --package LIST   only these packages (tensor, mamba2, attention, bitnet)',
    '  --check          compile into a temporary folder and load the result (no GPU needed)',
    '  --out-dir DIR    write DIR/<pkg>/falcon_<pkg>_cuda.node instead of <package>/build/',
    '  --if-available   exit 0 with a notice when nvcc is not installed',
    '  --verbose        print the nvcc command lines',
    '  --help           show this help',
  ].join('\n'),
  async run(argv) {
    const { runBuildCuda } = await import('@falcon/tensor/build-cuda');
    return runBuildCuda(argv);
  },
};
