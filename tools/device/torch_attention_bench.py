# PyTorch's scaled_dot_product_attention at the shapes of benchmarks/cuda/attention.ts (causal,
# GQA), forward and forward+backward, in bfloat16 (the FlashAttention-2 kernel), float32 with TF32
# allowed, and float32: median of 5 CUDA-event timings after a warm-up. Prints JSON {rows: [...]}.
import json
import torch
import torch.nn.functional as F

SHAPES = [(4, 2048, 8, 2, 64), (1, 8192, 8, 2, 64), (4, 2048, 16, 4, 128), (1, 8192, 16, 4, 128)]


def timed(f):
    f()
    ts = []
    for _ in range(5):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        f()
        b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b))
    return sorted(ts)[2]


rows = []
for (b, l, h, hk, d) in SHAPES:
    for dtype, tf32 in ((torch.bfloat16, False), (torch.float32, True), (torch.float32, False)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        q = torch.randn(b, h, l, d, device="cuda", dtype=dtype, requires_grad=True)
        k = torch.randn(b, hk, l, d, device="cuda", dtype=dtype, requires_grad=True)
        v = torch.randn(b, hk, l, d, device="cuda", dtype=dtype, requires_grad=True)
        dy = torch.randn(b, h, l, d, device="cuda", dtype=dtype)
        fwd = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)

        def fb():
            y = fwd()
            torch.autograd.grad(y, (q, k, v), dy)

        try:
            with torch.no_grad():
                f_ms = timed(fwd)
            fb_ms = timed(fb)
            name = {torch.bfloat16: "bfloat16"}.get(dtype, "float32+tf32" if tf32 else "float32")
            rows.append({"shape": f"b{b} l{l} h{h}:{hk} d{d} causal", "dtype": name, "forwardMs": f_ms, "forwardBackwardMs": fb_ms})
        except Exception as e:  # e.g. out of memory for the float32 math path
            rows.append({"shape": f"b{b} l{l} h{h}:{hk} d{d} causal", "dtype": str(dtype), "error": str(e)[:200]})
        del q, k, v, dy
        torch.cuda.empty_cache()
print(json.dumps({"torch": torch.__version__, "rows": rows}, indent=1))
