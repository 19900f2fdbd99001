#!/usr/bin/env python3
"""Log-probability parity of tinythink's forward on the GPU against transformers' Llama4ForCausalLM.

Builds a randomly initialised Llama4ForCausalLM with MobileLLM-R1-140M's text config (offline: the
config is written here, as tinythink's preset mobilellm-r1-140m), saves its fp32 weights as
model.safetensors beside a config.json in tinythink's llama4_text form, scores random token sequences
with transformers (fp32, on the GPU) and with

  tinythink score --model DIR --input seqs.jsonl --output out.jsonl --device cuda --precision P

for P = fp32 and bf16 (and --device cpu fp32 as the third corner), then compares every token's
log-probability. Prints one line per run and exits 1 when one is outside its tolerance:

  fp32 cuda vs transformers: max |diff| 3.1e-05 (tol 0.002) over 512 tokens  ok

Usage (on the GPU machine, from the repo root, after building):
  python3 tools/hf_logits_parity.py --tinythink build/tinythink [--layers 15] [--sequences 8 --length 64]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from hf_generate_bench import hf_text_config, mobilellm_r1_140m_config


def hf_model(config_dict):
    import torch
    import transformers

    config = hf_text_config(transformers, config_dict)
    config._attn_implementation = "eager"
    with torch.device("cuda"):
        model = transformers.Llama4ForCausalLM(config).float()
    model.eval()
    return model


def save_weights(model, path):
    """fp32 safetensors with HF names, without the tied lm_head."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(tensors, path, metadata={"format": "pt"})


def hf_logprobs(model, sequences):
    import torch

    out = []
    with torch.no_grad():
        for seq in sequences:
            ids = torch.tensor([seq], device="cuda")
            logits = model(input_ids=ids).logits[0].float()
            logp = torch.log_softmax(logits, dim=-1)
            out.append([logp[j, seq[j + 1]].item() for j in range(len(seq) - 1)])
    return out


def tinythink_logprobs(binary, model_dir, input_path, device, precision):
    output = os.path.join(model_dir, f"score-{device}-{precision}.jsonl")
    cmd = [binary, "score", "--model", model_dir, "--input", input_path, "--output", output, "--device", device,
           "--precision", precision]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {run.returncode}\n{run.stdout}{run.stderr}")
    with open(output) as f:
        return [json.loads(line)["token_logprobs"] for line in f]


def compare(name, expected, actual, tol):
    worst, count, where = 0.0, 0, None
    for i, (e_row, a_row) in enumerate(zip(expected, actual)):
        if len(e_row) != len(a_row):
            print(f"{name}: sequence {i} has {len(a_row)} log-probs, expected {len(e_row)}  FAIL")
            return False
        for j, (e, a) in enumerate(zip(e_row, a_row)):
            count += 1
            if abs(e - a) > worst:
                worst, where = abs(e - a), (i, j, e, a)
    ok = worst <= tol
    detail = f" (largest at sequence {where[0]} token {where[1]}: {where[3]:.6f} vs {where[2]:.6f})" if where else ""
    print(f"{name}: max |diff| {worst:.3g} (tol {tol}) over {count} tokens{detail}  {'ok' if ok else 'FAIL'}")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tinythink", default="build/tinythink")
    parser.add_argument("--layers", type=int, default=15)
    parser.add_argument("--init-range", type=float, default=0.05, help="weight std (larger: peakier distributions)")
    parser.add_argument("--sequences", type=int, default=8)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--fp32-tol", type=float, default=2e-3)
    parser.add_argument("--bf16-tol", type=float, default=0.1)
    parser.add_argument("--keep", help="write the model here instead of a temporary directory")
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        sys.exit("hf_logits_parity: no CUDA device visible to torch")
    torch.manual_seed(args.seed)
    config = mobilellm_r1_140m_config(args.layers, args.init_range)
    model = hf_model(config)
    g = torch.Generator().manual_seed(args.seed)
    sequences = torch.randint(0, config["vocab_size"], (args.sequences, args.length), generator=g).tolist()

    model_dir = args.keep or tempfile.mkdtemp(prefix="hf-parity-")
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    save_weights(model, os.path.join(model_dir, "model.safetensors"))
    input_path = os.path.join(model_dir, "seqs.jsonl")
    with open(input_path, "w") as f:
        for seq in sequences:
            f.write(json.dumps({"ids": seq}) + "\n")

    reference = hf_logprobs(model, sequences)
    ok = True
    for device, precision, tol in (("cuda", "fp32", args.fp32_tol), ("cuda", "bf16", args.bf16_tol),
                                   ("cpu", "fp32", args.fp32_tol)):
        ours = tinythink_logprobs(args.tinythink, model_dir, input_path, device, precision)
        ok &= compare(f"{precision} {device} vs transformers", reference, ours, tol)
    print(f"model: {model_dir} ({args.layers} layers, init_range {args.init_range}); transformers fp32 eager")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
