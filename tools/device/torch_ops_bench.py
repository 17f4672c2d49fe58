# PyTorch counterpart of benchmarks/cuda/ops.ts: the same computations at the same shapes
# (Falcon-H1-0.5B layer, batch 1, seqlen 2048), float32 unless noted, forward and forward+backward
# (autograd of Σ y·dy), median of 10 CUDA-event timings after 2 warm-ups. The Mamba-2 scan is the
# chunked SSD written with torch ops (what transformers runs without mamba-ssm); attention is
# scaled_dot_product_attention; the ternary product is compared with torch._int_mm (int8 × int8 →
# int32, cuBLASLt) and a dense float32 product. Prints JSON keyed by the benchmark names of ops.ts.
import json
import statistics

import torch
import torch.nn.functional as F

torch.backends.cuda.matmul.allow_tf32 = False
dev = "cuda"
L = 2048
out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0)}


def median_ms(f, reps=10):
    f()
    f()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        f()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e))
    return statistics.median(times)


def bench(name, inputs, run, grads=True, note=None):
    ins = [t.detach().requires_grad_(grads and t.is_floating_point()) for t in inputs]
    with torch.no_grad():
        fwd = median_ms(lambda: run(*ins))
    row = {"fwd_ms": fwd}
    if grads:
        dy = torch.randn_like(run(*ins))

        def step():
            for t in ins:
                t.grad = None
            run(*ins).backward(dy)

        row["fwdbwd_ms"] = median_ms(step)
    if note:
        row["note"] = note
    out[name] = row


def rn(*shape, std=1.0):
    return torch.randn(*shape, device=dev) * std


bench("rmsNorm [2048, 1024]", [rn(L, 1024), rn(1024)], lambda x, w: F.rms_norm(x, (1024,), w, 1e-5))


def conv(x, w, b):
    y = F.conv1d(x.transpose(1, 2), w[:, None, :], b, padding=3, groups=x.shape[2])[..., : x.shape[1]]
    return F.silu(y).transpose(1, 2)


bench("causalConv1d [1, 2048, 1792] w4 silu", [rn(1, L, 1792), rn(1792, 4, std=0.5), rn(1792)], conv)


def gated(x, w, z):
    u = x * F.silu(z)
    return u * torch.rsqrt(u.pow(2).mean(-1, keepdim=True) + 1e-5) * w


bench("gatedRmsNorm [1, 2048, 1536] z", [rn(1, L, 1536), rn(1536), rn(1, L, 1536)], gated)


def segsum(a):
    # a [..., T] → [..., T, T]: sum of a[j+1..i] for i ≥ j, -inf above the diagonal.
    t = a.shape[-1]
    c = torch.cumsum(a, -1)
    s = c[..., :, None] - c[..., None, :]
    mask = torch.tril(torch.ones(t, t, dtype=torch.bool, device=a.device))
    return s.masked_fill(~mask, float("-inf"))


def ssd(x, dt, A, B, C, D, dt_bias, q=128):
    b, l, h, p = x.shape
    n = B.shape[-1]
    dt = F.softplus(dt + dt_bias)
    c = l // q
    xd = (x * dt[..., None]).reshape(b, c, q, h, p)
    Bc = B.expand(b, l, h, n).reshape(b, c, q, h, n)
    Cc = C.expand(b, l, h, n).reshape(b, c, q, h, n)
    a = (dt * A).reshape(b, c, q, h).permute(0, 3, 1, 2)  # b h c q
    acs = torch.cumsum(a, -1)
    Ld = torch.exp(segsum(a))  # b h c q q
    y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", Cc, Bc, Ld, xd)
    decay = torch.exp(acs[..., -1:] - acs)
    states = torch.einsum("bclhn,bhcl,bclhp->bchpn", Bc, decay, xd)
    states = torch.cat([torch.zeros_like(states[:, :1]), states], 1)
    chunk_decay = torch.exp(segsum(F.pad(acs[..., -1], (1, 0))))
    states = torch.einsum("bhzc,bchpn->bzhpn", chunk_decay, states)[:, :-1]
    y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", Cc, states, torch.exp(acs))
    return (y_diag + y_off).reshape(b, l, h, p) + x * D[:, None]


bench(
    "ssdChunkScan b1 l2048 h24 p64 n128 chunk128",
    [rn(1, L, 24, 64), rn(1, L, 24, std=0.5), -(torch.rand(24, device=dev) * 1.5 + 0.5), rn(1, L, 1, 128), rn(1, L, 1, 128), rn(24), rn(24)],
    ssd,
    note="chunked SSD in torch ops (transformers' path without mamba-ssm)",
)


def attn(q, k, v):
    return F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True, enable_gqa=True).transpose(1, 2)


bench("flashAttention b1 l2048 8:2 heads d64 causal", [rn(1, L, 8, 64), rn(1, L, 2, 64), rn(1, L, 2, 64)], attn, note="SDPA float32")
qb, kb, vb = (t.bfloat16() for t in (rn(1, L, 8, 64), rn(1, L, 2, 64), rn(1, L, 2, 64)))
bench("flashAttention b1 l2048 8:2 heads d64 causal (bf16 flash)", [qb, kb, vb], attn, note="SDPA bfloat16 (FlashAttention-2 kernel)")


def wquant(w):
    s = 1.0 / w.abs().mean().clamp(min=1e-5)
    qv = (w * s).round().clamp(-1, 1) / s
    return w + (qv - w).detach()


bench("weightQuant [2048, 1024]", [rn(2048, 1024)], wquant)


def aquant(x):
    s = 127.0 / x.abs().amax(-1, keepdim=True).clamp(min=1e-5)
    return (x * s).round().clamp(-128, 127).to(torch.int32)


bench("activationQuantInt8 [2048, 1024]", [rn(L, 1024)], aquant, grads=False)
xi = torch.randint(-127, 128, (L, 1024), device=dev, dtype=torch.int8)
wi = torch.randint(-1, 2, (1024, 2048), device=dev, dtype=torch.int8)
bench("ternaryMatmul x[2048, 1024] · W[2048, 1024]ᵀ (2-bit)", [xi, wi], torch._int_mm, grads=False, note="torch._int_mm int8×int8→int32 (weights as int8)")
xf, wf = rn(L, 1024), rn(1024, 2048)
bench("ternaryMatmul (dense f32 matmul, same shape)", [xf, wf], torch.matmul, grads=False, note="torch.matmul float32")
print(json.dumps(out))
