"""The kernel anchors of benchmarks/cuda/kernel_anchors.ts, same shapes, same device call:
causal-conv1d's `causal_conv1d_fn` (x [b, d, l] as that package takes it, weight [d, 4], bias, silu)
in bfloat16 and float32, forward and forward+backward (autograd of sum(y*dy)); `torch._int_mm`
(int8 x int8 -> int32) for the ternary products, with the weights as int8 codes; torch.matmul in
bfloat16 for the 'bf16' products. Median of CUDA-event
timings and of host wall time per call after warm-ups. Needs the causal_conv1d package with its built
extension on PYTHONPATH (the device runner's site folder).
usage: python3 kernel_anchors.py OUT.json"""
import json, statistics, sys, time

import torch

out = sys.argv[1]
res = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "device": torch.cuda.get_device_name(0), "torch": torch.__version__, "rows": {}}


def timed(f, reps=20):
    f(); f(); torch.cuda.synchronize()
    gpu, wall = [], []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        t0 = time.perf_counter(); s.record(); f(); e.record(); torch.cuda.synchronize()
        wall.append((time.perf_counter() - t0) * 1e3); gpu.append(s.elapsed_time(e))
    return {"gpuMs": statistics.median(gpu), "wallMs": statistics.median(wall)}


try:
    from causal_conv1d import causal_conv1d_fn
    import causal_conv1d_cuda  # noqa: F401  (the built extension, not a torch fallback)
    for b, l in ((4, 2048), (1, 8192)):
        for dt in (torch.bfloat16, torch.float32):
            d = 1792
            x = torch.randn(b, d, l, device="cuda", dtype=dt, requires_grad=True)
            w = (0.5 * torch.randn(d, 4, device="cuda", dtype=dt)).requires_grad_()
            bias = torch.randn(d, device="cuda", dtype=dt, requires_grad=True)
            dy = torch.randn(b, d, l, device="cuda", dtype=dt)
            name = f"causalConv1d [{b}, {l}, {d}] w4 silu"
            with torch.no_grad():
                fwd = timed(lambda: causal_conv1d_fn(x, w, bias, activation="silu"))

            def both():
                y = causal_conv1d_fn(x, w, bias, activation="silu")
                torch.autograd.grad(y, (x, w, bias), dy)

            res["rows"][f"{name} {str(dt)[6:]}"] = {"forward": fwd, "forwardBackward": timed(both), "kernel": "causal_conv1d_fn (causal-conv1d CUDA)"}
            print(name, str(dt), res["rows"][f"{name} {str(dt)[6:]}"], flush=True)
except Exception as e:  # noqa: BLE001
    res["causal_conv1d_error"] = repr(e)[:300]
    print("causal_conv1d:", repr(e)[:300], flush=True)

for m, k, n in ((8192, 1024, 2048), (8192, 2048, 1024)):
    x = torch.randint(-127, 128, (m, k), device="cuda", dtype=torch.int8)
    w = torch.randint(-1, 2, (k, n), device="cuda", dtype=torch.int8)  # [k, n] contiguous: _int_mm's fastest layout
    name = f"ternaryMatmul x[{m}, {k}] · W[{n}, {k}]ᵀ (2-bit)"
    res["rows"][name] = {"forward": timed(lambda: torch._int_mm(x, w)), "kernel": "torch._int_mm int8 x int8 -> int32 (weights as int8 codes)"}
    print(name, res["rows"][name], flush=True)
for n in (8192, 4096):
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    name = f"matMul [{n}, {n}]·[{n}, {n}] bf16"
    res["rows"][name] = {"forward": timed(lambda: torch.matmul(a, b)), "kernel": "torch.matmul bfloat16 (cuBLAS)"}
    print(name, res["rows"][name], flush=True)
json.dump(res, open(out, "w"), indent=1)
