#!/usr/bin/python3
"""PyTorch eager baseline for `tinythink bench generate`: greedy generation with a KV cache.

Builds a preset architecture with random weights (same shapes as torch_train_step.py), prefills a
batch of random prompts in one forward, then decodes --new tokens one step at a time, appending each
step's K/V to per-layer cache tensors. Prints ONE JSON line with prefill and decode tokens/s.

  OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/torch_generate.py --arch mobilellm-r1-140m \
      --batch 64 --prompt 128 --new 32 --dtype bf16 --threads 2

bf16 = torch.autocast('cpu', dtype=torch.bfloat16) around every forward, fp32 weights (as the
issue's baseline). All prompts have the same length, so no padding or masks beyond causal prefill.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import torch_reference as ref  # noqa: E402
from torch_train_step import PRESETS  # noqa: E402


class Generator:
    def __init__(self, arch):
        self.arch = arch
        gen = torch.Generator().manual_seed(0)
        self.w = {}
        for name, shape in arch.param_shapes().items():
            self.w[name] = torch.ones(shape) if len(shape) == 1 else torch.randn(shape, generator=gen) * 0.02

    @torch.no_grad()
    def forward(self, ids, start, cache):
        """ids [B, T] at positions start..start+T-1; cache: list of (k, v) [B, KV, L, hd] or None."""
        a, w = self.arch, self.w
        B, T = ids.shape
        H, KV, hd = a.heads, a.kv_heads, a.head_dim
        G = H // KV
        pos = torch.arange(start, start + T)[None]
        ang = ref.rope_angles(a, pos)
        cos, sin = torch.cos(ang), torch.sin(ang)
        rope = ref.apply_rope_interleaved if a.llama4 else ref.apply_rope_rotate_half
        scale = 1.0 / math.sqrt(hd)
        x = F.embedding(ids, w["model.embed_tokens.weight"])
        for i in range(a.layers):
            p = "model.layers.%d." % i
            h = ref.rms_norm(x, w[p + "input_layernorm.weight"], a.eps)
            q = F.linear(h, w[p + "self_attn.q_proj.weight"]).view(B, T, H, hd)
            k = F.linear(h, w[p + "self_attn.k_proj.weight"]).view(B, T, KV, hd)
            v = F.linear(h, w[p + "self_attn.v_proj.weight"]).view(B, T, KV, hd)
            q, k = rope(q, cos, sin), rope(k, cos, sin)
            if a.qk_norm:
                q, k = ref.l2_norm(q, a.eps), ref.l2_norm(k, a.eps)
            k, v = k.permute(0, 2, 1, 3), v.permute(0, 2, 1, 3)
            if cache[i] is not None:
                k = torch.cat((cache[i][0], k.to(cache[i][0].dtype)), dim=2)
                v = torch.cat((cache[i][1], v.to(cache[i][1].dtype)), dim=2)
            cache[i] = (k, v)
            L = k.shape[2]
            qg = (q * scale).permute(0, 2, 1, 3).reshape(B, KV, G * T, hd)
            s = torch.matmul(qg, k.transpose(-1, -2).to(qg.dtype))
            if T > 1:
                mask = torch.ones(T, L, dtype=torch.bool).triu(L - T + 1).repeat(G, 1)
                s = s.masked_fill(mask, float("-inf"))
            pr = torch.softmax(s, dim=-1, dtype=torch.float32).to(qg.dtype)
            o = torch.matmul(pr, v.to(qg.dtype)).view(B, H, T, hd).transpose(1, 2).reshape(B, T, H * hd)
            x = x + F.linear(o, w[p + "self_attn.o_proj.weight"])
            h = ref.rms_norm(x, w[p + "post_attention_layernorm.weight"], a.eps)
            f = a.ffn_prefix
            g = F.silu(F.linear(h, w[p + f + ".gate_proj.weight"]))
            u = F.linear(h, w[p + f + ".up_proj.weight"])
            x = x + F.linear(g * u, w[p + f + ".down_proj.weight"])
        h = ref.rms_norm(x[:, -1:], w["model.norm.weight"], a.eps)
        head = w["model.embed_tokens.weight"] if a.tied else w["lm_head.weight"]
        return F.linear(h, head)[:, -1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", "--preset", dest="arch", default="mobilellm-r1-140m", choices=sorted(PRESETS))
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--new", type=int, default=32)
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="bf16")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    arch = ref.Arch(dict(PRESETS[args.arch]))
    model = Generator(arch)
    ids = torch.randint(0, arch.vocab, (args.batch, args.prompt), generator=torch.Generator().manual_seed(1))
    cache = [None] * arch.layers
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.dtype == "bf16"):
        t0 = time.perf_counter()
        logits = model.forward(ids, 0, cache)
        t1 = time.perf_counter()
        nxt = logits.argmax(-1, keepdim=True)
        for step in range(args.new - 1):
            logits = model.forward(nxt, args.prompt + step, cache)
            nxt = logits.argmax(-1, keepdim=True)
        t2 = time.perf_counter()
    decoded = args.batch * (args.new - 1)
    print(json.dumps({
        "impl": "pytorch-eager",
        "torch": torch.__version__,
        "arch": args.arch,
        "dtype": args.dtype,
        "batch": args.batch,
        "prompt": args.prompt,
        "new": args.new,
        "threads": torch.get_num_threads(),
        "prefill_s": round(t1 - t0, 4),
        "prefill_tokens_per_s": round(args.batch * args.prompt / (t1 - t0), 2),
        "decode_s": round(t2 - t1, 4),
        "decode_tokens_per_s": round(decoded / (t2 - t1), 2) if decoded else 0.0,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
    }))


if __name__ == "__main__":
    main()
