#!/usr/bin/env bash
# Issue #16's side-by-side table on this machine: tinythink against PyTorch eager (Debian
# python3-torch, fp32 and bf16 autocast, the faster one is "best"), MobileLLM-R1-140M shape,
# 2 threads, each measure run back to back so both sides see the same machine load.
#   bench/compare_cpu.sh            # all rows;  ROWS="train b64 b1" to pick (b64: prefill b64 p128 and
#                                   # decode b64 from one run; b1: decode b1)
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
ROWS=${ROWS:-"train b64 b1"}
TT_PRECISIONS=${TT_PRECISIONS:-"auto fp32 bf16"}
TORCH_DTYPES=${TORCH_DTYPES:-"fp32 bf16"}
tt="$BUILD_DIR/tinythink"
py=/usr/bin/python3
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
    *) echo "unknown row '$r' (train, b64, b1)" >&2; exit 1 ;;
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
print(f"# {model}; flags: {' '.join(f for f in wanted if f' {f}' in flags + ' ')}; tinythink kernels: {isa}; "
      f"load average {open('/proc/loadavg').read().split()[0]}")
print("| measure | tinythink auto | tinythink fp32 | tinythink bf16 | PyTorch fp32 | PyTorch bf16 autocast | ratio (tinythink best / PyTorch best) |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, results in rows.items():
  for key, title in (measures[name] if name in measures else [("tokens_per_s", f"train step b1 s{name[7:]}, tokens/s")]):
    val = {(s, p): js.get(key, 0.0) for s, p, js in results}
    auto = next((js for s, p, js in results if s == "tt" and p == "auto"), {})
    tt_best = max(v for (s, _), v in val.items() if s == "tt")
    torch_best = max((v for (s, _), v in val.items() if s == "torch"), default=0.0)
    cell = lambda s, p: f"{val[(s, p)]:,.1f}" if (s, p) in val else "-"
    ratio = f"{tt_best / torch_best:.2f}x" if torch_best else "-"
    print(f"| {title} | {cell('tt', 'auto')} ({auto.get('precision', '?')}) | {cell('tt', 'fp32')} | {cell('tt', 'bf16')} "
          f"| {cell('torch', 'fp32')} | {cell('torch', 'bf16')} | {ratio} |")
PY
