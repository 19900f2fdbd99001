#!/usr/bin/env python3
"""transformers' generate on the GPU, timed with the shapes of `tinythink bench generate --device cuda`.

A randomly initialised Llama4ForCausalLM with MobileLLM-R1-140M's text config (the tinythink preset
mobilellm-r1-140m, written out below: no download), bf16 weights, SDPA attention, the static KV cache
when this transformers has it (else the dynamic one; the output says which). Greedy decoding of random
prompts with EOS disabled, so every sequence runs to --new tokens. Prints one JSON line:

  {"impl": "transformers", "prefill_tokens_per_s": ..., "decode_tokens_per_s": ..., "peak_device_mb": ..., ...}

The prefill time is generate(max_new_tokens=1); the decode rate is batch x (new - 1) tokens over the
full run's time minus that. Side by side with tinythink (same card, same shapes):

  build/tinythink bench generate --device cuda --precision bf16 --batch 256 --prompt 128 --new 1024 --json
  python3 tools/hf_generate_bench.py --batch 256 --prompt 128 --new 1024

Needs torch with CUDA and transformers >= 4.51 (Llama4); runs offline.
"""
import argparse
import json
import sys
import time


def mobilellm_r1_140m_config(layers=15, init_range=0.02):
    """MobileLLM-R1-140M's text config in tinythink's config.json form (src/model/presets.cpp,
    llama4_dense; the preset mobilellm-r1-140m), `layers` deep."""
    return {
        "architectures": ["Llama4ForCausalLM"],
        "model_type": "llama4_text",
        "attention_bias": False,
        "attention_chunk_size": 32768,
        "attention_dropout": 0.0,
        "attn_scale": 0.1,
        "attn_temperature_tuning": False,
        "bos_token_id": 128000,
        "eos_token_id": 128001,
        "floor_scale": 8192,
        "head_dim": 64,
        "hidden_act": "silu",
        "hidden_size": 576,
        "initializer_range": init_range,
        "interleave_moe_layer_step": 0,
        "intermediate_size": 8192,
        "intermediate_size_mlp": 2048,
        "max_position_embeddings": 32768,
        "moe_layers": [],
        "no_rope_layers": [1] * layers,
        "num_attention_heads": 9,
        "num_experts_per_tok": 0,
        "num_hidden_layers": layers,
        "num_key_value_heads": 3,
        "num_local_experts": 0,
        "output_router_logits": False,
        "pad_token_id": None,
        "rms_norm_eps": 1e-5,
        "rope_scaling": None,
        "rope_theta": 8e6,
        "router_aux_loss_coef": 0.001,
        "router_jitter_noise": 0.0,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "use_qk_norm": True,
        "vocab_size": 128256,
    }


def hf_text_config(transformers, config):
    """transformers.Llama4TextConfig of a config dict: RoPE as rope_parameters where this transformers
    has them (v5), else rope_theta / rope_scaling (v4)."""
    import inspect

    cls = transformers.Llama4TextConfig
    kwargs = {k: v for k, v in config.items()
              if k not in ("architectures", "model_type", "torch_dtype", "rope_theta", "rope_scaling")}
    if "rope_parameters" in inspect.signature(cls.__init__).parameters:
        kwargs["rope_parameters"] = {"rope_type": "default", "rope_theta": config["rope_theta"]}
    else:
        kwargs["rope_theta"] = config["rope_theta"]
        kwargs["rope_scaling"] = None
    text_config = cls(**kwargs)
    theta = getattr(text_config, "rope_theta", None)
    if theta is None:
        theta = (getattr(text_config, "rope_parameters", None) or {}).get("rope_theta")
    if theta != config["rope_theta"] or text_config.attn_temperature_tuning or text_config.num_hidden_layers != config[
            "num_hidden_layers"]:
        sys.exit(f"hf config: rope_theta {theta}, attn_temperature_tuning {text_config.attn_temperature_tuning}: "
                 "not the config asked for (another transformers version?)")
    return text_config


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--prompt", type=int, default=128, help="prompt tokens")
    parser.add_argument("--new", type=int, default=1024, help="generated tokens per prompt")
    parser.add_argument("--cache", default="static", help="static (default, when available) or dynamic")
    parser.add_argument("--compile", action="store_true", help="torch.compile the forward (slow first call)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import torch
    import transformers

    if not torch.cuda.is_available():
        sys.exit("hf_generate_bench: no CUDA device visible to torch")
    torch.manual_seed(args.seed)
    config = hf_text_config(transformers, mobilellm_r1_140m_config())
    config._attn_implementation = "sdpa"
    with torch.device("cuda"):
        model = transformers.Llama4ForCausalLM(config).to(torch.bfloat16)
    model.eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    if args.compile:
        model.forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=False)
    prompts = torch.randint(0, config.vocab_size, (args.batch, args.prompt), device="cuda")
    attention_mask = torch.ones_like(prompts)

    def run(new_tokens, cache):
        kwargs = dict(input_ids=prompts, attention_mask=attention_mask, do_sample=False, max_new_tokens=new_tokens,
                      min_new_tokens=new_tokens, eos_token_id=None, pad_token_id=0)
        if cache == "static":
            kwargs["cache_implementation"] = "static"
        torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**kwargs)
        torch.cuda.synchronize()
        return time.perf_counter() - start, out

    cache = args.cache
    cache_note = ""
    try:
        run(2, cache)  # warm-up (and the check that this cache exists here)
    except Exception as e:  # an older or newer transformers without this cache
        if cache == "dynamic":
            raise
        cache_note = f"{cache} cache failed ({type(e).__name__}: {str(e).splitlines()[0][:200]}); dynamic cache used"
        print(f"hf_generate_bench: {cache_note}", file=sys.stderr)
        cache = "dynamic"
        run(2, cache)
    torch.cuda.reset_peak_memory_stats()
    prefill_s, _ = run(1, cache)
    total_s, out = run(args.new, cache)
    generated = out.shape[1] - args.prompt
    if generated != args.new:
        sys.exit(f"hf_generate_bench: generated {generated} tokens per sequence, expected {args.new}")
    decode_s = max(total_s - prefill_s, 1e-9)
    result = {
        "impl": "transformers",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0),
        "arch": "mobilellm-r1-140m (Llama4ForCausalLM, random init)",
        "precision": "bf16",
        "attention": "sdpa",
        "cache": cache,
        "compiled": args.compile,
        "batch": args.batch,
        "prompt": args.prompt,
        "new": args.new,
        "prefill_s": prefill_s,
        "prefill_tokens_per_s": args.batch * args.prompt / prefill_s,
        "total_s": total_s,
        "decode_s": decode_s,
        "decode_tokens_per_s": args.batch * (args.new - 1) / decode_s,
        "peak_device_mb": torch.cuda.max_memory_allocated() / 2**20,
    }
    if cache_note:
        result["note"] = cache_note
    print(json.dumps(result))


if __name__ == "__main__":
    main()
