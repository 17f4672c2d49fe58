/**
 * Builds the CUDA addons of the @falcon packages beside @falcon/tensor from their `csrc/` with nvcc
 * (see the header of build-cuda.mjs for the options; `['--help']` prints them).
 * @param argv - command-line arguments, e.g. `['--arch', 'sm_90a', '--package', 'mamba2']`
 * @returns the exit code (0 on success)
 */
export function runBuildCuda(argv: string[]): number;
/** nvcc's `-gencode` value for `sm_NN` (SASS) or `compute_NN` (PTX), e.g. `'arch=compute_90a,code=sm_90a'`. */
export function gencode(arch: string): string;
/** The nvcc executable ($NVCC, PATH, $CUDA_HOME/bin, $CUDA_PATH/bin, /usr/local/cuda/bin), or undefined. */
export function findNvcc(): string | undefined;
/** The folder of the Node-API headers (node_api.h). */
export function nodeApiInclude(): string;
/** The folder of node-addon-api (napi.h). */
export function nodeAddonApiInclude(): string;
