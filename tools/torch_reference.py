#!/usr/bin/python3
"""Small, self-contained PyTorch fp32 reference for the two architectures tinythink implements.

  * llama4_text (HF Llama4ForCausalLM, text-only, dense; MobileLLM-R1): interleaved RoPE, optional
    weightless L2 qk-norm after RoPE, FFN width `intermediate_size_mlp`, tensors `feed_forward.*`.
  * llama (HF LlamaForCausalLM; SmolLM2, Llama-3.2): rotate-half RoPE, optional llama3 rope scaling,
    FFN width `intermediate_size`, tensors `mlp.*`.

Everything is functional: parameters live in a dict keyed by HF tensor names. No transformers import.
Also: a minimal safetensors writer/reader (F32 and I64 only), the loss, and the HF-Trainer style
AdamW + clip + cosine-with-warmup training step used to make fixtures.
"""
import json
import math
import struct
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


# ----------------------------------------------------------------------------------------------
# Config
# ----------------------------------------------------------------------------------------------

class Arch:
    """The computation-relevant view of an HF config dict. Refuses what it does not implement."""

    def __init__(self, cfg):
        self.cfg = cfg
        mt = cfg["model_type"]
        if mt == "llama4_text":
            self.llama4 = True
        elif mt == "llama":
            self.llama4 = False
        else:
            raise ValueError("unsupported model_type %r" % mt)
        self.vocab = int(cfg["vocab_size"])
        self.hidden = int(cfg["hidden_size"])
        self.layers = int(cfg["num_hidden_layers"])
        self.heads = int(cfg["num_attention_heads"])
        self.kv_heads = int(cfg.get("num_key_value_heads") or self.heads)
        self.head_dim = int(cfg.get("head_dim") or self.hidden // self.heads)
        if self.heads % self.kv_heads:
            raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")
        self.eps = float(cfg.get("rms_norm_eps", 1e-5))
        self.theta = float(cfg.get("rope_theta", 10000.0))
        self.tied = bool(cfg.get("tie_word_embeddings", True))
        self.rope_scaling = cfg.get("rope_scaling")
        if cfg.get("attention_bias") or cfg.get("mlp_bias"):
            raise ValueError("attention/mlp biases are not implemented")
        if cfg.get("hidden_act", "silu") != "silu":
            raise ValueError("hidden_act must be silu")
        if self.llama4:
            self.ffn = int(cfg["intermediate_size_mlp"])
            self.qk_norm = bool(cfg.get("use_qk_norm", False))
            nrl = cfg.get("no_rope_layers")
            if nrl is not None and any(int(v) != 1 for v in nrl):
                raise ValueError("NoPE layers (no_rope_layers[i] == 0) are not implemented")
            if cfg.get("moe_layers"):
                raise ValueError("MoE layers are not implemented")
            self.chunk = cfg.get("attention_chunk_size") or 0
            self.ffn_prefix = "feed_forward"
        else:
            self.ffn = int(cfg["intermediate_size"])
            self.qk_norm = False
            self.chunk = 0
            self.ffn_prefix = "mlp"
        if self.rope_scaling is not None:
            rt = self.rope_scaling.get("rope_type", self.rope_scaling.get("type"))
            if rt not in ("llama3", "default"):
                raise ValueError("unsupported rope_scaling type %r" % rt)

    def param_shapes(self):
        """OrderedDict HF name -> shape, in a fixed order."""
        d, f, hd = self.hidden, self.ffn, self.head_dim
        s = OrderedDict()
        s["model.embed_tokens.weight"] = (self.vocab, d)
        for i in range(self.layers):
            p = "model.layers.%d." % i
            s[p + "self_attn.q_proj.weight"] = (self.heads * hd, d)
            s[p + "self_attn.k_proj.weight"] = (self.kv_heads * hd, d)
            s[p + "self_attn.v_proj.weight"] = (self.kv_heads * hd, d)
            s[p + "self_attn.o_proj.weight"] = (d, self.heads * hd)
            s[p + self.ffn_prefix + ".gate_proj.weight"] = (f, d)
            s[p + self.ffn_prefix + ".up_proj.weight"] = (f, d)
            s[p + self.ffn_prefix + ".down_proj.weight"] = (d, f)
            s[p + "input_layernorm.weight"] = (d,)
            s[p + "post_attention_layernorm.weight"] = (d,)
        s["model.norm.weight"] = (d,)
        if not self.tied:
            s["lm_head.weight"] = (self.vocab, d)
        return s


def init_params(arch, generator, std=0.02, norm_jitter=0.1):
    """Random init: matrices N(0, std); norm weights 1 + norm_jitter * N(0, 1). fp32, requires_grad."""
    params = OrderedDict()
    for name, shape in arch.param_shapes().items():
        if len(shape) == 1:
            t = 1.0 + norm_jitter * torch.randn(shape, generator=generator, dtype=torch.float32)
        else:
            t = std * torch.randn(shape, generator=generator, dtype=torch.float32)
        params[name] = t.requires_grad_(True)
    return params


# ----------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------

def rms_norm(x, weight, eps):
    """x * rsqrt(mean(x^2) + eps) * w, computed in fp32 (as HF LlamaRMSNorm)."""
    in_dtype = x.dtype
    x32 = x.float()
    y = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    return weight * y.to(in_dtype)


def l2_norm(x, eps):
    """Llama4TextL2Norm: weightless x * rsqrt(mean(x^2) + eps) over the last dim (per head)."""
    x32 = x.float()
    return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).type_as(x)


def rope_inv_freq(arch):
    """inv_freq[i] = theta^(-2i/head_dim), i < head_dim/2, fp32 as HF; llama3 scaling applied."""
    hd = arch.head_dim
    inv = 1.0 / (arch.theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    rs = arch.rope_scaling
    if rs is not None and rs.get("rope_type", rs.get("type")) == "llama3":
        factor = float(rs["factor"])
        low = float(rs["low_freq_factor"])
        high = float(rs["high_freq_factor"])
        orig = float(rs["original_max_position_embeddings"])
        low_wl = orig / low
        high_wl = orig / high
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > low_wl, inv / factor, inv)
        smooth = (orig / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wl) * ~(wavelen > low_wl)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rope_angles(arch, position_ids):
    """angles [B, T, head_dim/2] = position * inv_freq (fp32, as HF's matmul of the two)."""
    inv = rope_inv_freq(arch)
    return position_ids.float()[..., None] * inv[None, None, :]


def apply_rope_interleaved(x, cos, sin):
    """x [B, T, H, D]; pairs (2i, 2i+1) rotated by angle i. cos/sin [B, T, D/2]."""
    xr = x.float().reshape(*x.shape[:-1], -1, 2)
    x0, x1 = xr[..., 0], xr[..., 1]
    c, s = cos[:, :, None, :], sin[:, :, None, :]
    out = torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1)
    return out.flatten(-2).type_as(x)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rope_rotate_half(x, cos, sin):
    """x [B, T, H, D]; dims i and i + D/2 rotated by angle i (HF rotate_half)."""
    c = torch.cat((cos, cos), dim=-1)[:, :, None, :]
    s = torch.cat((sin, sin), dim=-1)[:, :, None, :]
    return (x * c + rotate_half(x) * s).type_as(x)


def doc_ids_from_position_ids(position_ids):
    """Documents in a packed row start where position_ids == 0 (and at column 0)."""
    starts = (position_ids == 0).long()
    starts[:, 0] = 1
    return torch.cumsum(starts, dim=1)


def attention_mask(position_ids, packed):
    """Boolean allowed[B, 1, T, T]: causal, and block-diagonal per document when packed."""
    B, T = position_ids.shape
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    allowed = causal[None].expand(B, T, T)
    if packed:
        doc = doc_ids_from_position_ids(position_ids)
        allowed = allowed & (doc[:, :, None] == doc[:, None, :])
    return allowed[:, None]


def attention(q, k, v, allowed, scale):
    """q [B,H,T,D], k/v [B,KV,T,D]; GQA: kv head j serves query heads j*G .. j*G+G-1."""
    G = q.shape[1] // k.shape[1]
    if G > 1:
        k = k.repeat_interleave(G, dim=1)
        v = v.repeat_interleave(G, dim=1)
    scores = torch.matmul(q, k.transpose(-1, -2)) * scale
    scores = scores.masked_fill(~allowed, float("-inf"))
    probs = torch.softmax(scores.float(), dim=-1).type_as(q)
    return torch.matmul(probs, v)


# ----------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------

def forward(arch, params, input_ids, position_ids=None, packed=False):
    """logits [B, T, V]. position_ids default arange(T); packed=True makes attention per-document
    (documents start where position_ids == 0)."""
    B, T = input_ids.shape
    if arch.chunk and T > arch.chunk:
        raise ValueError("sequence longer than attention_chunk_size: chunked attention not implemented")
    if position_ids is None:
        position_ids = torch.arange(T, dtype=torch.int64)[None].expand(B, T)
    ang = rope_angles(arch, position_ids)
    cos, sin = torch.cos(ang), torch.sin(ang)
    allowed = attention_mask(position_ids, packed)
    rope = apply_rope_interleaved if arch.llama4 else apply_rope_rotate_half
    H, KV, hd = arch.heads, arch.kv_heads, arch.head_dim
    scale = 1.0 / math.sqrt(hd)

    x = F.embedding(input_ids, params["model.embed_tokens.weight"])
    for i in range(arch.layers):
        p = "model.layers.%d." % i
        h = rms_norm(x, params[p + "input_layernorm.weight"], arch.eps)
        q = F.linear(h, params[p + "self_attn.q_proj.weight"]).view(B, T, H, hd)
        k = F.linear(h, params[p + "self_attn.k_proj.weight"]).view(B, T, KV, hd)
        v = F.linear(h, params[p + "self_attn.v_proj.weight"]).view(B, T, KV, hd)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        if arch.qk_norm:
            q, k = l2_norm(q, arch.eps), l2_norm(k, arch.eps)
        a = attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), allowed, scale)
        a = a.transpose(1, 2).reshape(B, T, H * hd)
        x = x + F.linear(a, params[p + "self_attn.o_proj.weight"])
        h = rms_norm(x, params[p + "post_attention_layernorm.weight"], arch.eps)
        f = arch.ffn_prefix
        g = F.silu(F.linear(h, params[p + f + ".gate_proj.weight"]))
        u = F.linear(h, params[p + f + ".up_proj.weight"])
        x = x + F.linear(g * u, params[p + f + ".down_proj.weight"])
    h = rms_norm(x, params["model.norm.weight"], arch.eps)
    head = params["model.embed_tokens.weight"] if arch.tied else params["lm_head.weight"]
    return F.linear(h, head)


def loss_fn(logits, targets):
    """Mean cross-entropy over positions whose target != -100 (targets already shifted)."""
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V).float(), targets.reshape(-1), ignore_index=IGNORE_INDEX)


# ----------------------------------------------------------------------------------------------
# Optimiser: HF Trainer + torch.optim.AdamW
# ----------------------------------------------------------------------------------------------

def cosine_with_warmup(step, warmup_steps, total_steps):
    """HF get_cosine_schedule_with_warmup lr_lambda (num_cycles = 0.5)."""
    if step < warmup_steps:
        return float(step) / float(max(1, warmup_steps))
    progress = float(step - warmup_steps) / float(max(1, total_steps - warmup_steps))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 2.0 * 0.5 * progress)))


def make_optimizer(params, lr, betas, eps, weight_decay):
    """Two groups as HF Trainer: decay for everything but norm weights (names containing 'norm')."""
    decay = [t for n, t in params.items() if "norm" not in n]
    no_decay = [t for n, t in params.items() if "norm" in n]
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, foreach=False)


# ----------------------------------------------------------------------------------------------
# safetensors (F32 / I64), written by hand
# ----------------------------------------------------------------------------------------------

_DTYPES = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}
_NP = {"F32": np.dtype("<f4"), "I64": np.dtype("<i8")}


def save_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch tensor (float32 or int64). Names written in sorted order, data in
    the same order. Header JSON padded with spaces to a multiple of 8 bytes."""
    header = OrderedDict()
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _DTYPES:
            raise ValueError("%s: unsupported dtype %s" % (name, t.dtype))
        tag, npdt = _DTYPES[t.dtype]
        b = t.numpy().astype(npdt, copy=False).tobytes()
        header[name] = {"dtype": tag, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = OrderedDict((str(k), str(v)) for k, v in sorted(metadata.items()))
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(hj)))
        fh.write(hj)
        for b in blobs:
            fh.write(b)


def load_safetensors(path):
    """Returns (OrderedDict name -> torch tensor, metadata dict). F32 / I64 only; checks offsets."""
    with open(path, "rb") as fh:
        raw = fh.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"), object_pairs_hook=OrderedDict)
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = OrderedDict()
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = _NP[info["dtype"]]
        numel = int(np.prod(info["shape"])) if info["shape"] else 1
        if e - b != numel * dt.itemsize or e > len(data):
            raise ValueError("%s: bad data_offsets for %s" % (path, name))
        arr = np.frombuffer(data[b:e], dtype=dt).reshape(info["shape"]).copy()
        out[name] = torch.from_numpy(arr)
    return out, meta
