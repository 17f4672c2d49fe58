/**
 * Builds the CUDA addons of the @falcon packages beside @falcon/tensor from their `csrc/` with nvcc
 * (see the header of build-cuda.mjs for the options; `['--help']` prints them).
 * @param argv - command-line arguments, e.g. `['--arch', 'sm_90a', '--package', 'mamba2']`
 * @returns the exit code (0 on success)
 */
export function runBuildCuda(argv: string[]): number;
