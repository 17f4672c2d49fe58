# The anchor of benchmarks/parallel/collectives_bw.ts: the same collectives, sizes, values, check and
# timing through torch.distributed (NCCL), one process per GPU under torchrun:
#   python3 -m torch.distributed.run --standalone --nproc-per-node N tools/device/torch_collectives_bw.py --out F.json
# all_reduce (in place), all_gather_into_tensor, reduce_scatter_tensor on float32 cuda buffers of 1 MiB ... 1 GiB
# (powers of 4; count rounded down to a multiple of N). Inputs (exact integer sums, see collective_values.ts):
# all-reduce / reduce-scatter x[j] = (r+1) + j % 251, all-gather x[i] = 256 r + i % 251. One sample = `inner`
# ops queued then torch.cuda.synchronize(), divided by inner; per sample the slowest rank; median of the
# timed samples after the warm-up (the first warm-up result is checked). busbw = size / time x 2(n-1)/n
# (all-reduce), x (n-1)/n (others). Rank 0 writes the JSON (rows with the same keys as ours).
import argparse, json, os, time
import torch
import torch.distributed as dist

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--min-mib", type=int, default=1)
p.add_argument("--max-mib", type=int, default=1024)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--iters", type=int, default=0)
a = p.parse_args()

local = int(os.environ["LOCAL_RANK"])
torch.cuda.set_device(local)
dist.init_process_group("nccl", device_id=torch.device("cuda", local))
rank, n = dist.get_rank(), dist.get_world_size()
dev = torch.device("cuda", local)
tri = n * (n + 1) // 2
rows, wrong = [], 0

for mib in [s for s in (1, 4, 16, 64, 256, 1024) if a.min_mib <= s <= a.max_mib]:
    count = (mib * 2**18) // n * n
    m = count // n
    iters = a.iters or (20 if mib <= 16 else 10)
    inner = max(1, min(16, 64 // mib))
    j = torch.arange(count, device=dev, dtype=torch.int64)
    for op in ("all_reduce", "all_gather", "reduce_scatter"):
        if op == "all_reduce":
            x0 = ((rank + 1) + j % 251).float()
            x = x0.clone()
            want = (tri + n * (j % 251)).float()
            run = lambda: dist.all_reduce(x)
            got = lambda: x
        elif op == "all_gather":
            x = (256 * rank + j[:m] % 251).float()
            y = torch.empty(count, device=dev)
            want = (256 * (j // m) + (j % m) % 251).float()
            run = lambda: dist.all_gather_into_tensor(y, x)
            got = lambda: y
        else:
            x = ((rank + 1) + j % 251).float()
            y = torch.empty(m, device=dev)
            want = (tri + n * ((rank * m + j[:m]) % 251)).float()
            run = lambda: dist.reduce_scatter_tensor(y, x)
            got = lambda: y
        samples, ok = [], True
        for s in range(a.warmup + iters):
            if op == "all_reduce":
                x.copy_(x0)  # in place: restart from the input (outside the timed part)
            dist.barrier()
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(1 if s == 0 else inner):  # the checked first sample: one op on the input
                run()
            torch.cuda.synchronize()
            if s == 0:
                ok = bool(torch.equal(got(), want))
            if s >= a.warmup:
                samples.append((time.perf_counter() - t0) * 1e3 / inner)
        t = torch.tensor(samples + [0.0 if ok else 1.0], device=dev, dtype=torch.float64)
        allt = torch.empty(n * t.numel(), device=dev, dtype=torch.float64)
        dist.all_gather_into_tensor(allt, t)
        allt = allt.view(n, -1).cpu()
        slowest = allt[:, :-1].max(dim=0).values.tolist()
        good = bool((allt[:, -1] == 0).all())
        wrong += not good
        ms = sorted(slowest)[len(slowest) // 2]  # as ours: the upper median
        algbw = count * 4 / (ms / 1e3) / 1e9
        factor = 2 * (n - 1) / n if op == "all_reduce" else (n - 1) / n
        rows.append({"op": op, "ranks": n, "size MiB": mib, "bytes": count * 4, "correct": good, "time ms (median)": ms,
                     "time ms (best)": min(slowest), "algbw GB/s": algbw, "busbw GB/s": algbw * factor, "samples": len(slowest), "inner": inner})
        if rank == 0:
            print(f"torch {op} {mib} MiB x {n}: {ms:.3f} ms, busbw {algbw * factor:.2f} GB/s, {'correct' if good else 'WRONG'}", flush=True)
        del x, want
    del j
    torch.cuda.empty_cache()

if rank == 0:
    v = torch.cuda.nccl.version()
    nccl = ".".join(map(str, v)) if isinstance(v, tuple) else str(v)
    env = {k: v for k, v in os.environ.items() if k.startswith("NCCL_")}
    with open(a.out, "w") as f:
        json.dump({"name": f"torch-collectives-bw-{n}", "torch": torch.__version__, "nccl": nccl, "gpu": torch.cuda.get_device_name(local),
                   "ranks": n, "NCCL": env, "rows": rows}, f, indent=1)
dist.destroy_process_group()
raise SystemExit(1 if wrong else 0)
