// Every package's CUDA op cases (see op-tests.ts); bundled by prepare.sh into .device/op-tests.mjs.
import { cudaCases as tensor } from '../../packages/tensor/test/cuda/cases.js';
import { cudaCases as mamba2 } from '../../packages/mamba2/test/cuda/cases.js';
import { cudaCases as attention } from '../../packages/attention/test/cuda/cases.js';
import { cudaCases as bitnet } from '../../packages/bitnet/test/cuda/cases.js';
import { runOpTests } from './op-tests.js';

runOpTests({ tensor, mamba2, attention, bitnet });
