# PyTorch reference for the CUDA device runner: torch.matmul of random float32 [n, n] matrices at
# 4096³ and 8192³, exact float32 and TF32, median of 10 timed with CUDA events after 3 warm-ups.
# Prints JSON keyed like tools/device/cuda-tests.ts ("8192³ tf32": {"ms": ..., "tflops": ...}).
import json
import statistics

import torch

out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0)}
for n in (4096, 8192):
    a = torch.rand(n, n, device="cuda") * 2 - 1
    b = torch.rand(n, n, device="cuda") * 2 - 1
    for precision in ("f32", "tf32"):
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        for _ in range(3):
            torch.matmul(a, b)
        torch.cuda.synchronize()
        times = []
        for _ in range(10):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            torch.matmul(a, b)
            e.record()
            e.synchronize()
            times.append(s.elapsed_time(e))
        ms = statistics.median(times)
        out[f"{n}³ {precision}"] = {"ms": ms, "tflops": 2 * n**3 / (ms * 1e-3) / 1e12}
print(json.dumps(out))
