#!/usr/bin/env bash
# The study's evaluation suite (tinythink eval --tasks tiny_think) on a random-initialised model of
# the MobileLLM-R1-140M shape with the Llama-3 tokenizer and the study's chat template, --limit N
# documents per task (default 20). A random model never writes EOS, so every generation runs to the
# task's max_gen_toks: this is the slowest case. Prints the machine, then per-task time and
# throughput from results.json. Usage: bench/eval_suite.sh [LIMIT] [TASKS]
# Env: BUILD_DIR (default build), SHARED (default ../shared), OUT (default /tmp/tinythink-eval-bench),
# DEVICE (default auto: the GPU when one answers; cpu or cuda[:N] to choose).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
SHARED=${SHARED:-${TINYTHINK_SHARED:-../shared}}
OUT=${OUT:-/tmp/tinythink-eval-bench}
LIMIT=${1:-20}
TASKS=${2:-tiny_think}
DEVICE=${DEVICE:-auto}
mkdir -p "$OUT"
MODEL="$OUT/model"
if [ ! -f "$MODEL/model.safetensors" ]; then
  "$BUILD_DIR/tinythink" init-model --arch mobilellm-r1-140m --out "$MODEL" --dtype bf16 \
    --tokenizer "$SHARED/data/tokenizer/llama3/tokenizer.json" > /dev/null
  cp "$SHARED/reference/tiny-think/chat_template.jinja" "$MODEL/"
  printf '{"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}\n' > "$MODEL/tokenizer_config.json"
fi
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(git rev-parse --short HEAD), device $DEVICE"
start=$(date +%s)
"$BUILD_DIR/tinythink" eval --model "$MODEL" --tasks "$TASKS" --limit "$LIMIT" --data "$SHARED/data" \
  --output "$OUT/results" --no-progress --device "$DEVICE"
echo "# wall: $(( $(date +%s) - start )) s"
/usr/bin/python3 - "$OUT/results/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{'task':36} {'docs':>5} {'seconds':>8} {'docs/s':>7} {'gen tok/s':>9} {'prompt tok':>10}")
groups = {t: g for g, ts in r["group_subtasks"].items() for t in ts}
agg = {}
for task, t in r["tinythink"]["tasks"].items():
    key = groups.get(task, task)
    a = agg.setdefault(key, {"docs": 0, "seconds": 0.0, "gen": 0, "prompt": 0})
    a["docs"] += r["n-samples"][task]["effective"]; a["seconds"] += t["seconds"]
    a["gen"] += t["generated_tokens"]; a["prompt"] += t["prompt_tokens"]
for key, a in agg.items():
    s = max(a["seconds"], 1e-9)
    print(f"{key:36} {a['docs']:5d} {a['seconds']:8.1f} {a['docs']/s:7.2f} {a['gen']/s:9.1f} {a['prompt']:10d}")
PY
