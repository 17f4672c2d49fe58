"""transformers' FalconH1ForCausalLM in PyTorch at the Falcon-H1-0.5B shapes (intermediate_size 2048
assumed, mamba_rms_norm false, no muP multipliers), batch 1 x seqlen 2048: forward tokens/s and
training-step (forward, backward, clip, AdamW) tokens/s and peak memory, in bf16 and in fp32 with
TF32 products, for each layer count in argv[1] (default "36,4"). Prints one JSON object (run by
tools/device/run-model-cuda.sh on the GPU machine, next to our cuda backend's numbers)."""
import json, sys, time
import torch
from transformers import FalconH1Config, FalconH1ForCausalLM

layers_list = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "36,4").split(",")]
seqlen = int(sys.argv[2]) if len(sys.argv) > 2 else 2048
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
dev = "cuda"
out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "seqlen": seqlen, "batch": 1, "runs": []}


def config(layers):
    return FalconH1Config(
        vocab_size=32784, hidden_size=1024, intermediate_size=2048, num_hidden_layers=layers,
        num_attention_heads=8, num_key_value_heads=2, head_dim=64,
        mamba_d_ssm=1536, mamba_n_heads=24, mamba_d_head=64, mamba_n_groups=1, mamba_d_state=128,
        mamba_d_conv=4, mamba_chunk_size=128, mamba_rms_norm=False, mamba_norm_before_gate=False,
        max_position_embeddings=16384, tie_word_embeddings=False, use_cache=False,
        attn_implementation="sdpa",
    )


def sync_time(f, n):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        f()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n


for layers in layers_list:
    for mode in ("bf16", "fp32-tf32"):
        row = {"layers": layers, "mode": mode}
        try:
            torch.manual_seed(0)
            model = FalconH1ForCausalLM(config(layers)).to(dev)
            if mode == "bf16":
                model = model.to(torch.bfloat16)
            row["params"] = sum(p.numel() for p in model.parameters())
            ids = torch.randint(0, 32784, (1, seqlen), device=dev)
            model.eval()
            with torch.no_grad():
                model(ids)
                torch.cuda.reset_peak_memory_stats()
                row["forward_s"] = sync_time(lambda: model(ids), 3)
                row["forward_peak_bytes"] = torch.cuda.max_memory_allocated()
            row["forward_tokens_per_s"] = seqlen / row["forward_s"]
            model.train()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)

            def step():
                loss = model(ids, labels=ids).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                opt.zero_grad(set_to_none=True)

            step()
            torch.cuda.reset_peak_memory_stats()
            row["train_s"] = sync_time(step, 3)
            row["train_peak_bytes"] = torch.cuda.max_memory_allocated()
            row["train_tokens_per_s"] = seqlen / row["train_s"]
            del opt, model
        except Exception as e:  # noqa: BLE001
            row["error"] = repr(e)[:500]
        torch.cuda.empty_cache()
        out["runs"].append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
print(json.dumps(out, indent=1))
