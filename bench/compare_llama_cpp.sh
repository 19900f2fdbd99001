#!/usr/bin/env bash
# The llama.cpp column of BENCHMARKS.md's generation table (issue #21): one checkpoint, exported by
# `tinythink export` to GGUF, run by tinythink (`bench generate --model --prompts`) and by llama.cpp (the
# prebuilt libllama of npm's node-llama-cpp, tools/llama_cpp/bench_gguf.mjs) on the same random prompts
# with the same token budget, back to back in one run so both see the same machine load. Prints one line
# per engine and batch (prefill and decode tokens/s) and the CPU model.
#   bench/compare_llama_cpp.sh
# Env: BUILD_DIR (default build), MODEL (a checkpoint directory; default: a random MobileLLM-R1-140M,
#      bf16, with the Llama-3 tokenizer of ../shared/data/fixtures/gguf/llama-tiny), OUTTYPE (GGUF type,
#      default bf16: the checkpoint's own weights), BATCHES (default "1 64"), PROMPT (prompt tokens,
#      default 128), NEW (new tokens, default 32), THREADS (default 2), TT_LLAMA_CPP_MODULES (default ~/.cache/tinythink/llama-cpp/node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
OUTTYPE=${OUTTYPE:-bf16}
BATCHES=${BATCHES:-"1 64"}
PROMPT=${PROMPT:-128}
NEW=${NEW:-32}
THREADS=${THREADS:-2}
export TT_LLAMA_CPP_MODULES=${TT_LLAMA_CPP_MODULES:-$HOME/.cache/tinythink/llama-cpp/node_modules}
shared=${TINYTHINK_SHARED:-../shared}
tt="$BUILD_DIR/tinythink"
[ -f "$TT_LLAMA_CPP_MODULES/node-llama-cpp/package.json" ] ||
  { echo "compare_llama_cpp: node-llama-cpp is not under $TT_LLAMA_CPP_MODULES (run scripts/llama_cpp_setup.sh)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

model=${MODEL:-}
if [ -z "$model" ]; then
  model=$work/model
  "$tt" init-model --arch mobilellm-r1-140m --tokenizer "$shared/data/fixtures/gguf/llama-tiny" --seed 1 --dtype bf16 --out "$model" >/dev/null 2>&1
fi
"$tt" export --model "$model" --format gguf --outtype "$OUTTYPE" --out "$work/model.gguf" >/dev/null 2>&1
vocab=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vocab_size"])' "$model/config.json")

echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs, $THREADS threads; model $model, GGUF $OUTTYPE; prompt $PROMPT, new $NEW"
printf '%-10s %6s %16s %16s\n' engine batch "prefill tok/s" "decode tok/s"
for batch in $BATCHES; do
  # The same prompts for both: random ids below 128000 (no special tokens), seeded by the batch size.
  /usr/bin/python3 -c '
import json, random, sys
batch, prompt, vocab = map(int, sys.argv[1:4])
rng = random.Random(batch)
for _ in range(batch): print(json.dumps({"ids": [rng.randrange(min(vocab, 128000)) for _ in range(prompt)]}))
' "$batch" "$PROMPT" "$vocab" > "$work/prompts.jsonl"
  ours=$(OMP_NUM_THREADS=$THREADS "$tt" bench generate --model "$model" --prompts "$work/prompts.jsonl" --new "$NEW" --json 2>/dev/null)
  theirs=$(node tools/llama_cpp/bench_gguf.mjs "$work/model.gguf" "$work/prompts.jsonl" "$NEW" "$THREADS")
  for line in "$ours" "$theirs"; do
    /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print("%-10s %6d %16.1f %16.1f" % (r["impl"], r["batch"], r["prefill_tokens_per_s"], r["decode_tokens_per_s"]))
' "$line"
  done
done
