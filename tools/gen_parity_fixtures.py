#!/usr/bin/python3
"""Write tests/fixtures/parity/<name>/{config.json, model.safetensors, reference.safetensors,
packed.safetensors} from tools/torch_reference.py. Deterministic: rerunning gives identical bytes.

Usage: /usr/bin/python3 tools/gen_parity_fixtures.py [--out tests/fixtures/parity]
"""
import argparse
import json
import math
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference as ref  # noqa: E402

OPT = OrderedDict(lr=1e-2, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, max_grad_norm=1.0,
                  warmup_steps=2, total_steps=5, scheduler="cosine")
STEPS = 5


def base_config(model_type, vocab, hidden, ffn, layers, heads, kv_heads, head_dim, theta, tied,
                rope_scaling=None):
    c = OrderedDict()
    if model_type == "llama4_text":
        c["architectures"] = ["Llama4ForCausalLM"]
        c["model_type"] = "llama4_text"
    else:
        c["architectures"] = ["LlamaForCausalLM"]
        c["model_type"] = "llama"
    c["vocab_size"] = vocab
    c["hidden_size"] = hidden
    if model_type == "llama4_text":
        # intermediate_size is the (unused, no MoE layers) expert width; dense FFN is _mlp.
        c["intermediate_size"] = ffn + 32
        c["intermediate_size_mlp"] = ffn
    else:
        c["intermediate_size"] = ffn
    c["num_hidden_layers"] = layers
    c["num_attention_heads"] = heads
    c["num_key_value_heads"] = kv_heads
    c["head_dim"] = head_dim
    c["hidden_act"] = "silu"
    c["attention_bias"] = False
    c["rms_norm_eps"] = 1e-5
    c["rope_theta"] = theta
    c["rope_scaling"] = rope_scaling
    c["tie_word_embeddings"] = tied
    if model_type == "llama4_text":
        c["use_qk_norm"] = True
        c["no_rope_layers"] = [1] * layers
        c["moe_layers"] = []
    c["initializer_range"] = 0.02
    c["max_position_embeddings"] = 128
    c["bos_token_id"] = 1
    c["eos_token_id"] = 2
    c["torch_dtype"] = "float32"
    return c


CONFIGS = OrderedDict()
CONFIGS["tiny_llama4"] = dict(
    seed=1001, B=2, T=17, split=7,
    config=base_config("llama4_text", 300, 64, 96, 2, 4, 2, 16, 10000.0, True))
CONFIGS["tiny_llama"] = dict(
    seed=1002, B=2, T=17, split=7,
    config=base_config("llama", 300, 64, 96, 2, 4, 2, 16, 500000.0, True,
                       rope_scaling=OrderedDict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                                high_freq_factor=4.0,
                                                original_max_position_embeddings=16)))
CONFIGS["tiny_llama_untied"] = dict(
    seed=1003, B=3, T=9, split=4,
    config=base_config("llama", 300, 48, 96, 3, 6, 2, 8, 10000.0, False))


# ----------------------------------------------------------------------------------------------
# Independent checks of the reference
# ----------------------------------------------------------------------------------------------

def rope_complex(arch, x, positions):
    """x [T, H, D] rotated via torch complex numbers. Interleaved: (2i, 2i+1) = re, im.
    Rotate-half: (i, i + D/2) = re, im."""
    D = x.shape[-1]
    ang = positions.double()[:, None] * ref.rope_inv_freq(arch).double()[None, :]
    rot = torch.polar(torch.ones_like(ang), ang)[:, None, :]
    xd = x.double()
    if arch.llama4:
        z = torch.view_as_complex(xd.reshape(*x.shape[:-1], D // 2, 2).contiguous())
        return torch.view_as_real(z * rot).flatten(-2)
    z = torch.complex(xd[..., :D // 2], xd[..., D // 2:])
    r = z * rot
    return torch.cat((r.real, r.imag), dim=-1)


def naive_forward_one(arch, params, ids, positions, doc):
    """Forward for one sequence, float64, attention as an explicit loop over query positions and
    heads, RoPE via complex numbers. doc[t] = document id (attend only within the same document)."""
    P = {n: t.detach().double() for n, t in params.items()}
    T = ids.shape[0]
    H, KV, hd = arch.heads, arch.kv_heads, arch.head_dim
    G = H // KV

    def norm(x, w):
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + arch.eps) * w

    x = P["model.embed_tokens.weight"][ids]
    for i in range(arch.layers):
        p = "model.layers.%d." % i
        h = norm(x, P[p + "input_layernorm.weight"])
        q = (h @ P[p + "self_attn.q_proj.weight"].T).view(T, H, hd)
        k = (h @ P[p + "self_attn.k_proj.weight"].T).view(T, KV, hd)
        v = (h @ P[p + "self_attn.v_proj.weight"].T).view(T, KV, hd)
        q, k = rope_complex(arch, q, positions), rope_complex(arch, k, positions)
        if arch.qk_norm:
            q = q / torch.sqrt((q * q).mean(-1, keepdim=True) + arch.eps)
            k = k / torch.sqrt((k * k).mean(-1, keepdim=True) + arch.eps)
        a = torch.zeros(T, H, hd, dtype=torch.float64)
        for t in range(T):
            for hh in range(H):
                j = hh // G
                srcs = [s for s in range(t + 1) if doc[s] == doc[t]]
                sc = torch.stack([torch.dot(q[t, hh], k[s, j]) for s in srcs]) / math.sqrt(hd)
                w = torch.exp(sc - sc.max())
                w = w / w.sum()
                a[t, hh] = sum(w[n] * v[s, j] for n, s in enumerate(srcs))
        x = x + a.reshape(T, H * hd) @ P[p + "self_attn.o_proj.weight"].T
        h = norm(x, P[p + "post_attention_layernorm.weight"])
        f = arch.ffn_prefix
        g = h @ P[p + f + ".gate_proj.weight"].T
        u = h @ P[p + f + ".up_proj.weight"].T
        x = x + ((g / (1 + torch.exp(-g))) * u) @ P[p + f + ".down_proj.weight"].T
    h = norm(x, P["model.norm.weight"])
    head = P["model.embed_tokens.weight"] if arch.tied else P["lm_head.weight"]
    return h @ head.T


def check_close(what, got, want, tol):
    err = (got.double() - want.double()).abs().max().item()
    scale = want.double().abs().max().item()
    if not err <= tol * max(1.0, scale):
        raise SystemExit("SELF-CHECK FAILED: %s: max abs err %.3g (scale %.3g)" % (what, err, scale))
    return err


def self_checks(name, arch, params, input_ids, logits):
    T = input_ids.shape[1]
    pos = torch.arange(T)
    # RoPE: the batched real formulation vs the complex one, on random q.
    g = torch.Generator().manual_seed(7)
    x = torch.randn(1, T, arch.heads, arch.head_dim, generator=g)
    ang = ref.rope_angles(arch, pos[None])
    rope = ref.apply_rope_interleaved if arch.llama4 else ref.apply_rope_rotate_half
    got = rope(x, torch.cos(ang), torch.sin(ang))[0]
    e1 = check_close(name + " rope vs complex", got, rope_complex(arch, x[0], pos), 1e-5)
    # Whole forward for batch element 0 vs the naive loop.
    want = naive_forward_one(arch, params, input_ids[0], pos, [0] * T)
    e2 = check_close(name + " logits vs naive loop", logits[0], want, 1e-5)
    return e1, e2


# ----------------------------------------------------------------------------------------------
# Fixture generation
# ----------------------------------------------------------------------------------------------

def grads_of(arch, params, input_ids, targets, position_ids=None, packed=False):
    for t in params.values():
        t.grad = None
    logits = ref.forward(arch, params, input_ids, position_ids, packed)
    loss = ref.loss_fn(logits, targets)
    loss.backward()
    grads = OrderedDict((n, t.grad.detach().clone()) for n, t in params.items())
    for t in params.values():
        t.grad = None
    return logits.detach(), loss.detach(), grads


def train_steps(arch, params, input_ids, targets):
    """HF Trainer semantics: loss, backward, clip_grad_norm_, AdamW step, LambdaLR step."""
    opt = ref.make_optimizer(params, OPT["lr"], (OPT["beta1"], OPT["beta2"]), OPT["eps"],
                             OPT["weight_decay"])
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: ref.cosine_with_warmup(s, OPT["warmup_steps"], OPT["total_steps"]))
    losses, norms, lrs = [], [], []
    plist = list(params.values())
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=True)
        loss = ref.loss_fn(ref.forward(arch, params, input_ids), targets)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(plist, OPT["max_grad_norm"])
        if not gn.item() > OPT["max_grad_norm"]:
            raise SystemExit("max_grad_norm %g does not clip (norm %g)" % (OPT["max_grad_norm"], gn))
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        losses.append(loss.item())
        norms.append(gn.item())
    return losses, norms, lrs


def make_fixture(name, spec, out_root):
    cfg = spec["config"]
    arch = ref.Arch(cfg)
    B, T = spec["B"], spec["T"]
    gen = torch.Generator().manual_seed(spec["seed"])
    params = ref.init_params(arch, gen)
    init = OrderedDict((n, t.detach().clone()) for n, t in params.items())

    # Batch: random tokens, targets = next token, ~25% of them set to -100.
    seq = torch.randint(0, arch.vocab, (B, T + 1), generator=gen)
    input_ids = seq[:, :T].clone()
    targets = seq[:, 1:].clone()
    drop = torch.rand(B, T, generator=gen) < 0.25
    targets[drop] = ref.IGNORE_INDEX

    logits, loss, grads = grads_of(arch, params, input_ids, targets)
    e_rope, e_naive = self_checks(name, arch, params, input_ids, logits)

    # Packed row: doc A (split tokens) then doc B (T - split), positions restart at B.
    split = spec["split"]
    pids = torch.randint(0, arch.vocab, (1, T + 2), generator=gen)
    doc_a, doc_b = pids[:, :split + 1], pids[:, split + 1:]  # each with one extra token for targets
    p_ids = torch.cat((doc_a[:, :-1], doc_b[:, :-1]), dim=1)
    p_tgt = torch.cat((doc_a[:, 1:], doc_b[:, 1:]), dim=1).clone()
    p_tgt[0, split - 1] = ref.IGNORE_INDEX  # no prediction across the document boundary
    p_tgt[0, T - 1] = ref.IGNORE_INDEX
    p_pos = torch.cat((torch.arange(split), torch.arange(T - split)))[None]
    p_logits, p_loss, p_grads = grads_of(arch, params, p_ids, p_tgt, p_pos, packed=True)
    # Packed logits must equal each document run on its own.
    la = ref.forward(arch, params, p_ids[:, :split]).detach()
    lb = ref.forward(arch, params, p_ids[:, split:]).detach()
    e_pack = check_close(name + " packed vs separate", p_logits, torch.cat((la, lb), dim=1), 1e-5)
    naive_p = naive_forward_one(arch, params, p_ids[0], p_pos[0], [0] * split + [1] * (T - split))
    e_pack2 = check_close(name + " packed vs naive loop", p_logits[0], naive_p, 1e-5)

    losses, norms, lrs = train_steps(arch, params, input_ids, targets)
    if abs(losses[0] - loss.item()) > 1e-6:
        raise SystemExit("step-0 loss differs from reference loss")

    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as fh:
        json.dump(cfg, fh, indent=2)
        fh.write("\n")
    ref.save_safetensors(os.path.join(d, "model.safetensors"), init, {"format": "pt"})

    r = OrderedDict()
    r["input_ids"] = input_ids
    r["targets"] = targets
    r["logits"] = logits
    r["loss"] = loss.reshape(1)
    for n, g in grads.items():
        r["grad." + n] = g
    r["adamw_losses"] = torch.tensor(losses, dtype=torch.float32)
    r["adamw_grad_norms"] = torch.tensor(norms, dtype=torch.float32)
    for n, t in params.items():
        r["final." + n] = t.detach()
    meta = OrderedDict((k, repr(v) if isinstance(v, float) else str(v)) for k, v in OPT.items())
    meta["lrs"] = json.dumps(lrs)
    meta["steps"] = str(STEPS)
    meta["no_decay"] = "parameters whose name contains 'norm'"
    meta["clip"] = "torch.nn.utils.clip_grad_norm_: coef = min(1, max_norm / (norm + 1e-6))"
    meta["optimizer"] = "torch.optim.AdamW (decoupled decay: p *= 1 - lr*wd; bias-corrected moments)"
    meta["torch"] = torch.__version__.split("+")[0]
    ref.save_safetensors(os.path.join(d, "reference.safetensors"), r, meta)

    pk = OrderedDict()
    pk["input_ids"] = p_ids
    pk["position_ids"] = p_pos
    pk["targets"] = p_tgt
    pk["logits"] = p_logits
    pk["loss"] = p_loss.reshape(1)
    for n, g in p_grads.items():
        pk["grad." + n] = g
    ref.save_safetensors(os.path.join(d, "packed.safetensors"), pk,
                         {"documents": json.dumps([split, T - split]),
                          "attention": "causal within each document (block-diagonal)"})

    # Round-trip our own writer.
    back, bmeta = ref.load_safetensors(os.path.join(d, "reference.safetensors"))
    for n, t in r.items():
        if not torch.equal(back[n], t.detach()):
            raise SystemExit("safetensors round trip failed for " + n)
    assert bmeta["lrs"] == meta["lrs"]

    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print("%-18s B=%d T=%d params=%d loss=%.6f packed_loss=%.6f" % (
        name, B, T, sum(t.numel() for t in init.values()), loss.item(), p_loss.item()))
    print("   self-check max err: rope %.2e, naive %.2e, packed-vs-separate %.2e, packed-naive %.2e"
          % (e_rope, e_naive, e_pack, e_pack2))
    print("   adamw losses %s" % ", ".join("%.5f" % v for v in losses))
    print("   grad norms   %s (clip at %g)" % (", ".join("%.4f" % v for v in norms),
                                              OPT["max_grad_norm"]))
    print("   lrs %s; folder %d bytes" % (lrs, size))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", default=os.path.join(here, "tests", "fixtures", "parity"))
    ap.add_argument("--only", default=None, help="generate one fixture by name")
    args = ap.parse_args()
    torch.set_num_threads(1)  # bit-reproducible reductions
    torch.use_deterministic_algorithms(True)
    for name, spec in CONFIGS.items():
        if args.only and name != args.only:
            continue
        make_fixture(name, spec, args.out)


if __name__ == "__main__":
    main()
