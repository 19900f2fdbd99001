#!/usr/bin/python3
"""PyTorch eager baseline for `tinythink bench train`.

Builds a preset architecture with random weights, feeds random tokens, and runs full training steps
(forward, mean CE over all tokens, backward, torch.optim.AdamW step, zero_grad). One warm-up step is
run first and not timed; then --steps timed steps. Prints ONE JSON line.

  /usr/bin/python3 bench/torch_train_step.py --preset mobilellm-r1-140m --batch 1 --seq 512 \
      --dtype fp32 --steps 3 --threads 2

bf16 = torch.autocast('cpu', dtype=torch.bfloat16) around forward + loss, fp32 master weights.
Attention is plain matmul + softmax (torch 1.13 has no scaled_dot_product_attention); GQA without
materialising repeated K/V (query heads of one KV group are stacked along the row dimension).

Note (this dev machine): Debian's torch 1.13 is built with BLAS_INFO=generic and links libblas.so.3,
which resolves to netlib reference BLAS (no OpenBLAS/MKL installed), so fp32 and bf16 matmuls run at
~4.5 GFLOPS single-threaded and OPENBLAS_CORETYPE has no effect (recorded in the output anyway).
A pip torch (MKL + oneDNN) would be far faster; compare against that where available.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import torch_reference as ref  # noqa: E402

PRESETS = {
    "mobilellm-r1-140m": dict(model_type="llama4_text", vocab_size=128256, hidden_size=576,
                              intermediate_size_mlp=2048, num_hidden_layers=15,
                              num_attention_heads=9, num_key_value_heads=3, head_dim=64,
                              rms_norm_eps=1e-5, rope_theta=8e6, tie_word_embeddings=True,
                              use_qk_norm=True),
    "micro-llama4": dict(model_type="llama4_text", vocab_size=2048, hidden_size=128,
                         intermediate_size_mlp=384, num_hidden_layers=4, num_attention_heads=4,
                         num_key_value_heads=2, head_dim=32, rms_norm_eps=1e-5, rope_theta=8e6,
                         tie_word_embeddings=True, use_qk_norm=True),
}


class Model(nn.Module):
    """Same computation as tools/torch_reference.forward (causal, unpacked), as an nn.Module."""

    def __init__(self, arch):
        super().__init__()
        self.arch = arch
        gen = torch.Generator().manual_seed(0)
        self.p = nn.ParameterDict()
        for name, shape in arch.param_shapes().items():
            if len(shape) == 1:
                t = torch.ones(shape)
            else:
                t = torch.randn(shape, generator=gen) * 0.02
            self.p[name.replace(".", "__")] = nn.Parameter(t)

    def w(self, name):
        return self.p[name.replace(".", "__")]

    def forward(self, ids):
        a = self.arch
        B, T = ids.shape
        H, KV, hd = a.heads, a.kv_heads, a.head_dim
        G = H // KV
        pos = torch.arange(T)[None]
        ang = ref.rope_angles(a, pos)
        cos, sin = torch.cos(ang), torch.sin(ang)
        rope = ref.apply_rope_interleaved if a.llama4 else ref.apply_rope_rotate_half
        mask = torch.ones(T, T, dtype=torch.bool).triu(1).repeat(G, 1)  # [G*T, T], True = masked
        scale = 1.0 / math.sqrt(hd)
        x = F.embedding(ids, self.w("model.embed_tokens.weight"))
        for i in range(a.layers):
            p = "model.layers.%d." % i
            h = ref.rms_norm(x, self.w(p + "input_layernorm.weight"), a.eps)
            q = F.linear(h, self.w(p + "self_attn.q_proj.weight")).view(B, T, H, hd)
            k = F.linear(h, self.w(p + "self_attn.k_proj.weight")).view(B, T, KV, hd)
            v = F.linear(h, self.w(p + "self_attn.v_proj.weight")).view(B, T, KV, hd)
            q, k = rope(q, cos, sin), rope(k, cos, sin)
            if a.qk_norm:
                q, k = ref.l2_norm(q, a.eps), ref.l2_norm(k, a.eps)
            # [B, KV, G*T, hd]: query heads j*G..j*G+G-1 share KV head j.
            q = (q * scale).permute(0, 2, 1, 3).reshape(B, KV, G * T, hd)
            k = k.permute(0, 2, 1, 3)
            v = v.permute(0, 2, 1, 3)
            s = torch.matmul(q, k.transpose(-1, -2))
            s = s.masked_fill(mask, float("-inf"))
            pr = torch.softmax(s, dim=-1, dtype=torch.float32).to(v.dtype)
            o = torch.matmul(pr, v).view(B, H, T, hd).transpose(1, 2).reshape(B, T, H * hd)
            x = x + F.linear(o, self.w(p + "self_attn.o_proj.weight"))
            h = ref.rms_norm(x, self.w(p + "post_attention_layernorm.weight"), a.eps)
            f = a.ffn_prefix
            g = F.silu(F.linear(h, self.w(p + f + ".gate_proj.weight")))
            u = F.linear(h, self.w(p + f + ".up_proj.weight"))
            x = x + F.linear(g * u, self.w(p + f + ".down_proj.weight"))
        h = ref.rms_norm(x, self.w("model.norm.weight"), a.eps)
        head = self.w("model.embed_tokens.weight") if a.tied else self.w("lm_head.weight")
        return F.linear(h, head)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", "--arch", dest="preset", default="mobilellm-r1-140m", choices=sorted(PRESETS))
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--steps", type=int, default=3, help="timed steps (one extra warm-up step first)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-4)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = dict(PRESETS[args.preset])
    arch = ref.Arch(cfg)
    model = Model(arch)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), eps=1e-8,
                            weight_decay=0.0)
    gen = torch.Generator().manual_seed(1)
    data = torch.randint(0, arch.vocab, (args.batch, args.seq + 1), generator=gen)
    ids, tgt = data[:, :-1], data[:, 1:]

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.dtype == "bf16"):
            logits = model(ids)
            loss = F.cross_entropy(logits.float().reshape(-1, arch.vocab), tgt.reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    times, losses = [], []
    for i in range(args.steps + 1):
        t0 = time.perf_counter()
        losses.append(step())
        dt = time.perf_counter() - t0
        if i > 0:
            times.append(dt)
        print("step %d: %.3f s loss %.4f" % (i, dt, losses[-1]), file=sys.stderr, flush=True)
    med = statistics.median(times)
    out = {
        "impl": "pytorch-eager",
        "torch": torch.__version__,
        "arch": args.preset,
        "batch": args.batch,
        "seq": args.seq,
        "dtype": args.dtype,
        "threads": torch.get_num_threads(),
        "steps": args.steps,
        "step_s": round(med, 4),
        "tokens_per_s": round(args.batch * args.seq / med, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "params": sum(p.numel() for p in model.parameters()),
        "losses": [round(v, 4) for v in losses],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
