# Makes python_dtypes.safetensors: one tensor per safetensors dtype, written by the Python
# `safetensors` package (PyTorch), with the same values as SAMPLES in ../dtypes.test.ts, so the
# tests check that files written by the reference implementation read bit for bit.
# Run where torch and safetensors are installed: python3 make_python_dtypes.py OUT_DIR
import sys

import numpy as np
import torch
from safetensors.torch import save_file


def bits(values, np_dtype, torch_dtype):
    return torch.from_numpy(np.array(values, dtype=np_dtype)).view(torch_dtype)


all256 = torch.arange(256, dtype=torch.int32).to(torch.uint8)
tensors = {
    "F64": torch.tensor([0.0, -0.0, 1.5, -1e300, float("inf"), float("-inf"), float("nan"), 5e-324], dtype=torch.float64).reshape(2, 4),
    "F32": torch.from_numpy(np.array([0, -0.0, 3.4028234663852886e38, 1e-45, np.inf, -np.inf, np.nan, 1 / 3], dtype=np.float32)),
    "F16": bits([0x0000, 0x8000, 0x3C00, 0x7BFF, 0x0001, 0x7C00, 0xFC00, 0x7E01], np.uint16, torch.float16),
    "BF16": bits([0x3F80, 0xFF80, 0x7F80, 0x7FC1, 0x0001, 0x8000, 0x7F7F, 0x1234], np.uint16, torch.bfloat16).reshape(2, 2, 2),
    "I64": torch.tensor([-(2**63), 2**63 - 1, 0, -1], dtype=torch.int64),
    "I32": torch.tensor([-(2**31), 2**31 - 1, 0], dtype=torch.int32),
    "I16": torch.tensor([-32768, 32767, -1], dtype=torch.int16),
    "I8": torch.tensor([-128, 127, -1], dtype=torch.int8),
    "U64": bits([0, 2**64 - 1], np.uint64, torch.uint64),
    "U32": bits([0, 2**32 - 1], np.uint32, torch.uint32),
    "U16": bits([0, 65535], np.uint16, torch.uint16),
    "U8": all256.clone().reshape(16, 16),
    "BOOL": torch.tensor([False, True, True, False, True]),
    "F8_E4M3": all256.clone().view(torch.float8_e4m3fn),
    "F8_E5M2": all256.clone().view(torch.float8_e5m2).reshape(4, 64),
    "scalar": torch.tensor(2.5, dtype=torch.float32),
    "empty": torch.zeros(0, 3, dtype=torch.bfloat16),
}
save_file(tensors, f"{sys.argv[1]}/python_dtypes.safetensors", metadata={"format": "pt", "writer": "python safetensors"})
