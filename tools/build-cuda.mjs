#!/usr/bin/env node
// Builds every package's CUDA addon in the repository (packages/<pkg>/build/falcon_<pkg>_cuda.node).
// The builder ships with @falcon/tensor (packages/tensor/scripts/build-cuda.mjs, the
// `falcon-build-cuda` command of an installed package); this runs it. `--help` lists the options.
import { runBuildCuda } from '../packages/tensor/scripts/build-cuda.mjs';

process.exitCode = runBuildCuda(process.argv.slice(2));
