#!/usr/bin/env python3
"""The transformers + PyTorch side of `bench train --device cuda`: one training step of an HF
checkpoint (e.g. `tinythink init-model --arch mobilellm-r1-140m --out DIR`) on the GPU, timed the
way our bench times it, so the two stand side by side in one run (scripts/gpu-check.sh).

The step is what a TRL SFT run with bf16=True does: fp32 master weights, torch.autocast(bfloat16),
SDPA attention, a causal-LM loss over all tokens, fused AdamW (betas 0.9/0.95), clipping at 1.0.
Prints one JSON line: tokens/s, step seconds, peak device memory, MFU against the card's dense bf16
peak (6 x matmul parameters + causal attention FLOPs per token, as our bench counts them).

Usage: tools/torch_train_bench.py MODEL_DIR [--batch 2] [--seq 4096] [--steps 5] [--warmup 2] [--compile]
"""
import argparse
import json
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM

# Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) by device name, from the vendors' datasheets.
BF16_PEAK_TFLOPS = {"H200": 989.0, "H100 SXM": 989.0, "H100 80GB HBM3": 989.0, "H100 PCIe": 756.0,
                    "H100 NVL": 835.0, "A100": 312.0, "L40S": 362.0, "RTX 5060 Ti": 94.0, "RTX 4090": 165.0}


def peak_for(name):
    for key, value in BF16_PEAK_TFLOPS.items():
        if key in name:
            return value
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seq", type=int, default=4096)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    a = p.parse_args()

    torch.manual_seed(0)
    dev = torch.device("cuda")
    config = AutoConfig.from_pretrained(a.model)
    model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32, attn_implementation="sdpa").to(dev)
    model.train()
    if a.compile:
        model = torch.compile(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.95), weight_decay=0.0, fused=True)
    ids = torch.randint(0, config.vocab_size, (a.batch, a.seq), device=dev)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for _ in range(a.warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / a.steps

    d, layers = config.hidden_size, config.num_hidden_layers
    heads, kv = config.num_attention_heads, config.num_key_value_heads
    hd = getattr(config, "head_dim", d // heads)
    ffn = getattr(config, "intermediate_size_mlp", None) or config.intermediate_size
    matmul_params = layers * (d * heads * hd * 2 + d * kv * hd * 2 + 3 * d * ffn) + config.vocab_size * d
    # causal attention: QK^T and PV, forward 2*2*T/2*hd*heads per token, x3 for forward + backward
    attn_flops_per_token = layers * 3 * 2 * 2 * (a.seq / 2) * hd * heads
    flops_per_token = 6 * matmul_params + attn_flops_per_token
    tokens = a.batch * a.seq
    name = torch.cuda.get_device_name()
    peak = peak_for(name)
    achieved = flops_per_token * tokens / seconds / 1e12
    print(json.dumps({
        "impl": "transformers" + (" + torch.compile" if a.compile else ""),
        "torch": torch.__version__, "device": name, "batch": a.batch, "seq": a.seq,
        "step_seconds": round(seconds, 4), "tokens_per_second": round(tokens / seconds, 1),
        "tflops": round(achieved, 1), "mfu": round(achieved / peak, 4) if peak else None,
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2), "loss": round(float(loss), 4),
    }), flush=True)


if __name__ == "__main__":
    main()
