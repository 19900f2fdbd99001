#!/usr/bin/env bash
# Issue #16's side-by-side table on this machine: tinythink against PyTorch eager (Debian
# python3-torch, fp32 and bf16 autocast, the faster one is "best"), MobileLLM-R1-140M shape,
# 2 threads, each measure run back to back so both sides see the same machine load.
#   bench/compare_cpu.sh            # all rows;  ROWS="train b64 b1 roofline llama_cpp" to pick (b64:
#                                   # prefill b64 p128 and decode b64 from one run; b1: decode b1;
#                                   # roofline: the machine's ceilings, `tinythink bench roofline`, and a
#                                   # second table of each measure against them; llama_cpp:
#                                   # bench/compare_llama_cpp.sh, when scripts/llama_cpp_setup.sh has run)
# Needs bench/setup_baselines.sh once (PyTorch on OpenBLAS, llama.cpp); refuses a PyTorch on the reference BLAS.
# Env: BUILD_DIR (default build), STEPS (timed training steps, default 2), SEQS (default 512),
#      NEW (decoded tokens per request, default 16), THREADS (default 2), TT_PRECISIONS (default
#      "auto fp32 bf16"), TORCH_DTYPES (default "fp32 bf16"; bf16 autocast without native bf16 is
#      emulated and very slow: drop it there to save minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
STEPS=${STEPS:-2}
SEQS=${SEQS:-512}
NEW=${NEW:-16}
THREADS=${THREADS:-2}
ROWS=${ROWS:-"train b64 b1 roofline llama_cpp"}
TT_PRECISIONS=${TT_PRECISIONS:-"auto fp32 bf16"}
TORCH_DTYPES=${TORCH_DTYPES:-"fp32 bf16"}
tt="$BUILD_DIR/tinythink"
py=/usr/bin/python3
# PyTorch's fp32 GEMMs run on whatever libblas.so.3 Debian selected: on netlib's reference BLAS they are
# 10-50x slower than on OpenBLAS, and every ratio below would flatter us. Refuse to compare against it.
if [ -n "$TORCH_DTYPES" ]; then
  torch_blas=$(bench/torch_blas.sh 2>/dev/null) || { echo "compare_cpu: /usr/bin/python3 has no torch (run bench/setup_baselines.sh)" >&2; exit 2; }
  case $torch_blas in
    reference*) [ "${ALLOW_REFERENCE_BLAS:-0}" = 1 ] ||
      { echo "compare_cpu: PyTorch runs on the reference BLAS ($torch_blas): run bench/setup_baselines.sh (OpenBLAS), or ALLOW_REFERENCE_BLAS=1" >&2; exit 2; } ;;
  esac
  export TORCH_BLAS="$torch_blas"
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT

tt_train() { OMP_NUM_THREADS=$THREADS "$tt" bench train --arch mobilellm-r1-140m --batch 1 --seq "$1" --steps "$STEPS" --precision "$2" --json 2>/dev/null; }
torch_train() { $py bench/torch_train_step.py --preset mobilellm-r1-140m --batch 1 --seq "$1" --dtype "$2" --steps "$STEPS" --threads "$THREADS" 2>/dev/null; }
tt_gen() { OMP_NUM_THREADS=$THREADS "$tt" bench generate --arch mobilellm-r1-140m --batch "$1" --prompt "$2" --new "$NEW" --precision "$3" --json 2>/dev/null; }
torch_gen() { $py bench/torch_generate.py --arch mobilellm-r1-140m --batch "$1" --prompt "$2" --new "$NEW" --dtype "$3" --threads "$THREADS" 2>/dev/null; }

row() {  # name, then "side precision json" lines on stdin
  sed "s/^/$1 /" >> "$out"
}

for r in $ROWS; do
  case $r in
    train)
      for seq in $SEQS; do
        { for p in $TT_PRECISIONS; do echo "tt $p $(tt_train "$seq" "$p")"; done
          for d in $TORCH_DTYPES; do echo "torch $d $(torch_train "$seq" "$d")"; done; } | row "train_s$seq"
      done ;;
    b64|b1)
      batch=${r#b}
      { for p in $TT_PRECISIONS; do echo "tt $p $(tt_gen "$batch" 128 "$p")"; done
        for d in $TORCH_DTYPES; do echo "torch $d $(torch_gen "$batch" 128 "$d")"; done; } | row "$r" ;;
    roofline)
      echo "tt roofline $(OMP_NUM_THREADS=$THREADS "$tt" bench roofline --arch mobilellm-r1-140m --json 2>/dev/null)" | row roofline ;;
    llama_cpp) ;;  # after the tables
    *) echo "unknown row '$r' (train, b64, b1, roofline, llama_cpp)" >&2; exit 1 ;;
  esac
done

$py - "$out" "$tt" <<'PY'
import json, subprocess, sys
rows = {}
for line in open(sys.argv[1]):
    name, side, prec, js = line.split(" ", 3)
    try:
        rows.setdefault(name, []).append((side, prec, json.loads(js)))
    except json.JSONDecodeError:
        print(f"# {name} {side} {prec}: no result", file=sys.stderr)
# (row, metric, label) per measure; b64 gives two measures from one run.
measures = {"b64": [("prefill_tokens_per_s", "prefill b64 p128, tokens/s"), ("decode_tokens_per_s", "decode b64, tokens/s")],
            "b1": [("decode_tokens_per_s", "decode b1, tokens/s")]}
flags = open("/proc/cpuinfo").read().split("flags")[1].split("\n")[0]
wanted = ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16"]
model = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
isa = ""
for side, prec, js in sum(rows.values(), []):
    if side == "tt" and "isa" in js: isa = js["isa"]
import os
print(f"# {model}; flags: {' '.join(f for f in wanted if f' {f}' in flags + ' ')}; tinythink kernels: {isa}; "
      f"PyTorch BLAS: {os.environ.get('TORCH_BLAS', '-').split()[0]}; load average {open('/proc/loadavg').read().split()[0]}")
print("| measure | tinythink auto | tinythink fp32 | tinythink bf16 | PyTorch fp32 | PyTorch bf16 autocast | ratio (tinythink best / PyTorch best) |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, results in rows.items():
  if name == "roofline": continue
  for key, title in (measures[name] if name in measures else [("tokens_per_s", f"train step b1 s{name[7:]}, tokens/s")]):
    val = {(s, p): js.get(key, 0.0) for s, p, js in results}
    auto = next((js for s, p, js in results if s == "tt" and p == "auto"), {})
    tt_best = max(v for (s, _), v in val.items() if s == "tt")
    torch_best = max((v for (s, _), v in val.items() if s == "torch"), default=0.0)
    cell = lambda s, p: f"{val[(s, p)]:,.1f}" if (s, p) in val else "-"
    ratio = f"{tt_best / torch_best:.2f}x" if torch_best else "-"
    print(f"| {title} | {cell('tt', 'auto')} ({auto.get('precision', '?')}) | {cell('tt', 'fp32')} | {cell('tt', 'bf16')} "
          f"| {cell('torch', 'fp32')} | {cell('torch', 'bf16')} | {ratio} |")

# The same run against the machine's ceilings (bench roofline): decode b1 streams every matmul weight
# once per token (bandwidth-bound); prefill and training are bound by the GEMM rate on the model's mix.
roof = next((js for _, _, js in rows.get("roofline", [])), None)
if roof:
    mix = roof["model_tflops_per_s"]
    print()
    print(f"# roofline: triad {roof['triad_gb_per_s']:.1f} GB/s, read {roof['read_gb_per_s']:.1f} GB/s ({roof['array_mb']} MiB arrays); "
          f"oneDNN on the model's GEMM mix at {roof['rows']} rows: fp32 {mix['fp32']:.3f}, bf16 {mix['bf16']:.3f} TFLOP/s "
          f"(bf16 {'native' if roof['native_bf16'] else 'emulated'}); load average {roof['load_average']}")
    print("| measure | tinythink (best precision) | achieved | ceiling | share of ceiling | what the issue's target needs |")
    print("|---|---|---:|---:|---:|---|")
    ceiling = max(mix.values())
    def best_tt(name, key):
        cands = [(js.get(key, 0.0), p, js) for s, p, js in rows.get(name, []) if s == "tt"]
        return max(cands, key=lambda c: c[0]) if cands else None
    def best_torch(name, key):
        return max((js.get(key, 0.0) for s, _, js in rows.get(name, []) if s == "torch"), default=0.0)
    b1 = best_tt("b1", "decode_tokens_per_s")
    if b1 and b1[2].get("weight_bytes_per_decode_step"):
        gbs = b1[0] * b1[2]["weight_bytes_per_decode_step"] / 1e9
        print(f"| decode b1 | {b1[1]} ({b1[2]['precision']}, {b1[2]['weight_bytes_per_decode_step'] / 1e6:.0f} MB of weights per token) "
              f"| {gbs:.1f} GB/s | triad {roof['triad_gb_per_s']:.1f} GB/s | {100 * gbs / roof['triad_gb_per_s']:.0f}% | >= 80% |")
    b64 = best_tt("b64", "prefill_tokens_per_s")
    if b64 and b64[2].get("layer_matmul_flops_per_token"):
        tf = b64[0] * b64[2]["layer_matmul_flops_per_token"] / 1e12
        torch = best_torch("b64", "prefill_tokens_per_s")
        need = 2 * torch * b64[2]["layer_matmul_flops_per_token"] / 1e12
        print(f"| prefill b64 p128 (layer GEMMs only) | {b64[1]} ({b64[2]['precision']}) | {tf:.3f} TFLOP/s | {ceiling:.3f} TFLOP/s "
              f"| {100 * tf / ceiling:.0f}% | 2x PyTorch = {need:.3f} TFLOP/s = {100 * need / ceiling:.0f}% of the ceiling |")
    for name in rows:
        if not name.startswith("train_"): continue
        tr = best_tt(name, "tokens_per_s")
        torch = best_torch(name, "tokens_per_s")
        if not tr: continue
        tf = tr[2].get("model_tflops_per_s", 0.0)
        need = 2 * torch / tr[0] * tf if tr[0] else 0.0
        print(f"| train step b1 s{name[7:]} (model FLOPs) | {tr[1]} ({tr[2]['precision']}) | {tf:.3f} TFLOP/s | {ceiling:.3f} TFLOP/s "
              f"| {100 * tf / ceiling:.0f}% | 2x PyTorch = {need:.3f} TFLOP/s = {100 * need / ceiling:.0f}% of the ceiling |")
PY
for r in $ROWS; do
  if [ "$r" = llama_cpp ]; then
    echo
    if [ -f "${TT_LLAMA_CPP_MODULES:-$HOME/.cache/tinythink/llama-cpp/node_modules}/node-llama-cpp/package.json" ]; then
      BUILD_DIR=$BUILD_DIR THREADS=$THREADS bench/compare_llama_cpp.sh
    else
      echo "# llama.cpp rows skipped: node-llama-cpp not set up (scripts/llama_cpp_setup.sh)"
    fi
  fi
done
