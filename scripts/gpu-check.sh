#!/usr/bin/env bash
# The device check of the CUDA backend (issue 14), for a machine with an NVIDIA GPU: builds with
# CUDA for this card only, runs the kernel parity tests (ctest -L cuda), the CLI's device choice and
# the kernel benchmarks on the study's shapes, the generation kernels' decode/prefill timings
# (issue 15: tinythink_generation_bench; its parity and batch-invariance tests are in ctest -L cuda),
# and prints a short table last. Sized for 8 minutes
# on an H100/H200 (the build is most of it). Usage: scripts/gpu-check.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-gpu}
START=$(date +%s)
declare -a ROWS
row() { ROWS+=("$(printf '%-28s %s' "$1" "$2")"); }
elapsed() { echo $(( $(date +%s) - START ))s; }

NVCC=${CUDACXX:-/usr/local/cuda/bin/nvcc}
if ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: no NVIDIA GPU visible (nvidia-smi -L failed); nothing to check" >&2
  exit 2
fi
CARD=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)
echo "== card: $CARD"

mkdir -p "$BUILD"
echo "== build ($BUILD, arch native)"
GEN=$(command -v ninja >/dev/null && echo "-G Ninja" || echo "")
if cmake -S . -B "$BUILD" $GEN -DCMAKE_BUILD_TYPE=Release -DTT_CUDA=ON -DCMAKE_CUDA_COMPILER="$NVCC" \
     -DTT_CUDA_ARCHS=native >"$BUILD/gpu-check.configure.log" 2>&1 &&
   cmake --build "$BUILD" -j"$(nproc)" --target tinythink tinythink_cuda_tests tinythink_cuda_bench tinythink_generation_bench \
     >"$BUILD/gpu-check.build.log" 2>&1; then
  row build "ok ($(elapsed))"
else
  tail -30 "$BUILD/gpu-check.configure.log" "$BUILD/gpu-check.build.log"
  row build "FAILED (see $BUILD/gpu-check.build.log)"
  printf '\n== gpu-check summary (%s)\n' "$CARD"; printf '%s\n' "${ROWS[@]}"; exit 1
fi

echo "== kernel parity tests (ctest -L cuda)"
ctest --test-dir "$BUILD" -L cuda --output-on-failure --timeout 120 | tee "$BUILD/gpu-check.ctest.log"
TESTS=$(grep -E "tests passed|tests failed" "$BUILD/gpu-check.ctest.log" | tail -1)
SKIPPED=$(grep -c "(Skipped)" "$BUILD/gpu-check.ctest.log" || true)
row "ctest -L cuda" "${TESTS:-no result} ; skipped $SKIPPED"

echo "== device choice"
"$BUILD/tinythink" bench train --arch tiny-llama4 --steps 1 --seq 32 --device auto --json >/dev/null 2>"$BUILD/gpu-check.device.log"
cat "$BUILD/gpu-check.device.log"
row "--device auto" "$(grep -m1 'device:' "$BUILD/gpu-check.device.log" | cut -c1-90)"

echo "== kernel benchmarks (batch 2 x seq 4096, MobileLLM-R1-140M shapes)"
"$BUILD/tinythink_cuda_bench" 2 4096 | tee "$BUILD/gpu-check.bench.log"
while read -r name value unit; do
  [ "$name" = device ] && continue
  row "$name" "$value $unit"
done <"$BUILD/gpu-check.bench.log"

echo "== generation kernels (MobileLLM-R1-140M shapes: decode batch 256 at 1024 tokens, prefill 2048)"
"$BUILD/tinythink_generation_bench" 256 1024 2048 | tee "$BUILD/gpu-check.generation.log"
while read -r name value unit; do
  [ "$name" = device ] && continue
  row "$name" "$value $unit"
done <"$BUILD/gpu-check.generation.log"

echo "== generation engine (bench generate --device cuda, MobileLLM-R1-140M random: batch 256, prompt 128, 1024 new)"
"$BUILD/tinythink" bench generate --device cuda --precision bf16 --batch 256 --prompt 128 --new 1024 --json \
  >"$BUILD/gpu-check.engine.json" 2>"$BUILD/gpu-check.engine.log"
cat "$BUILD/gpu-check.engine.log" "$BUILD/gpu-check.engine.json"
engine_field() { python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))[sys.argv[2]]))" "$@" 2>/dev/null || echo "?"; }
row "engine prefill tok/s" "$(engine_field "$BUILD/gpu-check.engine.json" prefill_tokens_per_s)"
row "engine decode tok/s" "$(engine_field "$BUILD/gpu-check.engine.json" decode_tokens_per_s)"
row "engine device peak MB" "$(engine_field "$BUILD/gpu-check.engine.json" device_peak_without_unused_kv_mb) (without the unused KV pool)"
if python3 -c "import torch, transformers" 2>/dev/null; then
  echo "== transformers generate, same shapes (tools/hf_generate_bench.py)"
  timeout 240 python3 tools/hf_generate_bench.py --batch 256 --prompt 128 --new 1024 | tee "$BUILD/gpu-check.hf.json"
  row "transformers decode tok/s" "$(engine_field "$BUILD/gpu-check.hf.json" decode_tokens_per_s)"
  echo "== log-prob parity with transformers (tools/hf_logits_parity.py)"
  timeout 120 python3 tools/hf_logits_parity.py --tinythink "$BUILD/tinythink" | tee "$BUILD/gpu-check.parity.log"
  row "hf parity" "$(grep -c ' ok$' "$BUILD/gpu-check.parity.log")/3 ok"
fi

row "wall time" "$(elapsed)"
printf '\n== gpu-check summary (%s)\n' "$CARD"
printf '%s\n' "${ROWS[@]}"
