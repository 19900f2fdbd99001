#!/usr/bin/env bash
# The device check of the CUDA backend (issues 14 and 15), for a machine with an NVIDIA GPU: builds
# with CUDA for this card only (or unpacks a build made elsewhere), runs the kernel parity tests
# (ctest -L cuda), the one-rank NCCL path (issue 19), the CLI's device choice, the training step on the GPU (bench train --device cuda),
# the kernel benchmarks on the study's shapes, the
# generation kernels' decode/prefill timings, and prints a short table last. Sized for 8 minutes on an
# H100/H200 (a build is most of it).
#
# Usage: scripts/gpu-check.sh [--prebuilt TARBALL] [BUILD_DIR]
#   --prebuilt: a tarball from scripts/gpu-bundle.sh (binaries and libraries built on a Debian
#               machine), for a GPU machine without the project's build dependencies.
# Logs go to BUILD_DIR, and also to $GPU_CHECK_LOGS when set.
set -uo pipefail
cd "$(dirname "$0")/.."
PREBUILT=""
if [ "${1:-}" = --prebuilt ]; then PREBUILT=$2; shift 2; fi
BUILD=${1:-build-gpu}
LOGS=${GPU_CHECK_LOGS:-$BUILD}
START=$(date +%s)
declare -a ROWS
# Every row also goes to $LOGS/summary.partial at once, so a run cut off by its time limit still
# says what it found.
row() { ROWS+=("$(printf '%-30s %s' "$1" "$2")"); printf '%-30s %s\n' "$1" "$2" >>"$LOGS/summary.partial"; }
elapsed() { echo $(( $(date +%s) - START ))s; }
summary() {
  printf '\n== gpu-check summary (%s)\n' "$CARD" | tee "$LOGS/summary.txt"
  printf '%s\n' "${ROWS[@]}" | tee -a "$LOGS/summary.txt"
}

if ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: no NVIDIA GPU visible (nvidia-smi -L failed); nothing to check" >&2
  exit 2
fi
CARD=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)
echo "== card: $CARD"
mkdir -p "$BUILD" "$LOGS"

if [ -n "$PREBUILT" ]; then
  # The binaries have their build folder (RUNPATH, the CLI the tests run) and source folder
  # (fixtures) compiled in: unpack into BUILD and link those paths here when they do not exist.
  echo "== unpack $PREBUILT"
  tar -C "$BUILD" -xJf "$PREBUILT" || { echo "gpu-check: cannot unpack $PREBUILT" >&2; exit 1; }
  cat "$BUILD/build-info.txt"
  SRC_AT=$(sed -n 's/^SOURCE_DIR=//p' "$BUILD/build-info.txt")
  BUILD_AT=$(sed -n 's/^BUILD_DIR=//p' "$BUILD/build-info.txt")
  [ -e "$SRC_AT" ] || { mkdir -p "$(dirname "$SRC_AT")" && ln -s "$PWD" "$SRC_AT"; }
  [ -e "$BUILD_AT" ] || ln -s "$PWD/$BUILD/bin" "$BUILD_AT"
  [ -e "$BUILD_AT/tinythink" ] || { echo "gpu-check: $BUILD_AT does not hold the unpacked binaries" >&2; exit 1; }
  BIN=$BUILD_AT
  # cuBLASLt and the CUDA runtime come from this machine (the toolkit or the pip wheels torch uses).
  CUDA_LIBS=""
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
           $(python3 -c 'import os, nvidia.cublas as c; print(os.path.join(list(c.__path__)[0], "lib"))' 2>/dev/null) \
           $(python3 -c 'import os, nvidia.cuda_runtime as c; print(os.path.join(list(c.__path__)[0], "lib"))' 2>/dev/null); do
    [ -d "$d" ] && CUDA_LIBS="$CUDA_LIBS:$d"
  done
  export LD_LIBRARY_PATH="$PWD/$BUILD/bin:$PWD/$BUILD/lib${CUDA_LIBS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  if ldd "$BIN/libtinythink_cuda.so" | grep "not found"; then
    row build "FAILED: the plugin's libraries are missing here"
    summary; exit 1
  fi
  row build "prebuilt ($(sed -n 's/^COMMIT=//p' "$BUILD/build-info.txt" | cut -c1-10), $(sed -n 's/^TT_CUDA_ARCHS:STRING=//p' "$BUILD/build-info.txt"))"
else
  NVCC=${CUDACXX:-/usr/local/cuda/bin/nvcc}
  echo "== build ($BUILD, arch native)"
  GEN=$(command -v ninja >/dev/null && echo "-G Ninja" || echo "")
  if cmake -S . -B "$BUILD" $GEN -DCMAKE_BUILD_TYPE=Release -DTT_CUDA=ON -DCMAKE_CUDA_COMPILER="$NVCC" \
       -DTT_CUDA_ARCHS=native >"$LOGS/gpu-check.configure.log" 2>&1 &&
     cmake --build "$BUILD" -j"$(nproc)" --target tinythink tinythink_cuda_tests tinythink_cuda_bench tinythink_generation_bench \
       >"$LOGS/gpu-check.build.log" 2>&1; then
    row build "ok ($(elapsed))"
  else
    tail -30 "$LOGS/gpu-check.configure.log" "$LOGS/gpu-check.build.log"
    row build "FAILED (see $LOGS/gpu-check.build.log)"
    summary; exit 1
  fi
  BIN=$BUILD
fi

echo "== kernel parity tests (label cuda)"
if [ -n "$PREBUILT" ]; then
  # One process per test suite, each under its own time limit: a crash or a hang in one suite (a
  # failed CUDA call aborts the process) does not hide the results of the others.
  : >"$LOGS/gpu-check.tests.log"
  for suite in $("$BIN/tinythink_cuda_tests" --gtest_list_tests | grep -E '^[A-Za-z]' | grep -v '^Running' | sed 's/\.$//'); do
    if [ $(( $(date +%s) - START )) -gt "${GPU_CHECK_TEST_BUDGET_S:-200}" ]; then
      row "  NOT RUN (time)" "$suite"; continue
    fi
    timeout "${GPU_CHECK_SUITE_TIMEOUT_S:-60}" "$BIN/tinythink_cuda_tests" --gtest_color=no --gtest_filter="$suite.*" \
      >"$LOGS/gpu-check.suite.log" 2>&1
    rc=$?
    cat "$LOGS/gpu-check.suite.log" >>"$LOGS/gpu-check.tests.log"
    last=$(tail -1 "$LOGS/gpu-check.suite.log" | cut -c1-100)
    if [ $rc = 124 ]; then row "  TIMEOUT" "$suite (running: $(grep -E '^\[ RUN' "$LOGS/gpu-check.suite.log" | tail -1 | cut -c14-))"
    elif [ $rc -gt 128 ]; then row "  CRASH (signal $((rc - 128)))" "$suite: $last"
    elif [ $rc != 0 ] && ! grep -qE '^\[  FAILED  \] [A-Za-z]' "$LOGS/gpu-check.suite.log"; then row "  EXIT $rc" "$suite: $last"
    fi
  done
  PASSED=$(grep -cE '^\[       OK \] ' "$LOGS/gpu-check.tests.log")
  FAILED=$(grep -cE '^\[  FAILED  \] [A-Za-z].* \([0-9]+ ms\)' "$LOGS/gpu-check.tests.log")
  SKIPPED=$(grep -cE '^\[  SKIPPED \] [A-Za-z].* \([0-9]+ ms\)' "$LOGS/gpu-check.tests.log")
  row "cuda tests" "passed $PASSED, failed $FAILED, skipped $SKIPPED"
  while read -r line; do row "  FAILED" "${line#\[  FAILED  \] }"; done < <(grep -E '^\[  FAILED  \] [A-Za-z].* \([0-9]+ ms\)' "$LOGS/gpu-check.tests.log" | sort -u)
else
  ctest --test-dir "$BUILD" -L cuda --output-on-failure --timeout 120 | tee "$LOGS/gpu-check.ctest.log"
  TESTS=$(grep -E "tests passed|tests failed" "$LOGS/gpu-check.ctest.log" | tail -1)
  SKIPPED=$(grep -c "(Skipped)" "$LOGS/gpu-check.ctest.log" || true)
  row "ctest -L cuda" "${TESTS:-no result} ; skipped $SKIPPED"
fi

echo "== NCCL, one rank (issue 19: the data-parallel collectives' one-rank path; two ranks need 2 GPUs)"
# libnccl.so.2 is not in the bundle: the toolkit's, or the pip wheel torch uses, via $TINYTHINK_NCCL.
if [ -z "${TINYTHINK_NCCL:-}" ]; then
  for f in /usr/local/cuda/lib64/libnccl.so.2 /usr/lib/x86_64-linux-gnu/libnccl.so.2 \
           "$(python3 -c 'import os, nvidia.nccl as n; print(os.path.join(list(n.__path__)[0], "lib", "libnccl.so.2"))' 2>/dev/null)"; do
    [ -n "$f" ] && [ -f "$f" ] && { export TINYTHINK_NCCL=$f; break; }
  done
fi
echo "TINYTHINK_NCCL=${TINYTHINK_NCCL:-unset, the dynamic loader searches for libnccl.so.2}"
timeout 45 "$BIN/tinythink_cuda_tests" --gtest_color=no --gtest_filter='Nccl.*:DeviceCollectives.*' 2>&1 | tee "$LOGS/gpu-check.nccl.log"
NCCL_ONE=$(grep -E '^\[ +(OK|FAILED|SKIPPED) +\] Nccl.OneRankCollectivesAreTheIdentity' "$LOGS/gpu-check.nccl.log" | head -1 | grep -oE 'OK|FAILED|SKIPPED')
NCCL_WHY=$(awk '/RUN .*Nccl.OneRank/ {f = 1} f && /: Skipped$/ {getline; print; exit}' "$LOGS/gpu-check.nccl.log" | cut -c1-80)
row "nccl one rank" "${NCCL_ONE:-no result}${NCCL_WHY:+ ($NCCL_WHY)}"
if command -v mpirun >/dev/null; then  # the same path with the id handed over by MPI
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 45 mpirun --oversubscribe -np 1 \
    ${TINYTHINK_NCCL:+-x TINYTHINK_NCCL} "$BIN/tinythink_cuda_tests" --gtest_color=no --gtest_filter='Nccl.OneRank*' \
    >"$LOGS/gpu-check.nccl-mpirun.log" 2>&1
  row "nccl one rank (mpirun -np 1)" "$(grep -oE '^\[ +(OK|FAILED|SKIPPED) +\] Nccl.OneRank' "$LOGS/gpu-check.nccl-mpirun.log" | grep -oE 'OK|FAILED|SKIPPED' | head -1 || echo 'no result')"
fi

echo "== device choice"
timeout 30 "$BIN/tinythink" bench train --arch tiny-llama4 --steps 1 --seq 32 --device auto --json >/dev/null 2>"$LOGS/gpu-check.device.log"
cat "$LOGS/gpu-check.device.log"
row "--device auto" "$(grep -m1 'device:' "$LOGS/gpu-check.device.log" | cut -c1-90)"

bench_rows() {  # name value unit lines of a benchmark log into the table
  while read -r name value unit; do
    [ "$name" = device ] && continue
    [ "$name" = "#" ] && continue  # detail lines: in the log, not the table
    [ -n "$name" ] && row "$name" "$value $unit"
  done <"$1"
}

echo "== training step on the GPU (bench train --device cuda: MobileLLM-R1-140M, batch 2 x seq 4096, bf16)"
if timeout 90 "$BIN/tinythink" bench train --device cuda --arch mobilellm-r1-140m --batch 2 --seq 4096 --steps 5 \
     --precision bf16 --json >"$LOGS/gpu-check.train.json" 2>"$LOGS/gpu-check.train.log"; then
  cat "$LOGS/gpu-check.train.json"
  row "tinythink train 140M bf16" "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); p=j.get("mfu_vs_bf16_peak"); print("%.0f tok/s, MFU %s of bf16 peak, %.0f%% of cuBLASLt, peak %.0f MiB" % (j["tokens_per_s"], "%.1f%%" % (100*p) if p is not None else "n/a (card not in table)", 100*j["mfu"], j["peak_device_mb"]))' "$LOGS/gpu-check.train.json" 2>/dev/null || echo "no JSON")"
else
  tail -5 "$LOGS/gpu-check.train.log"
  row "tinythink train 140M bf16" "FAILED: $(tail -1 "$LOGS/gpu-check.train.log" | cut -c1-120)"
fi

echo "== the same step with the mma.sync attention kernels (TINYTHINK_CUDA_ATTENTION=mma)"
if TINYTHINK_CUDA_ATTENTION=mma timeout 90 "$BIN/tinythink" bench train --device cuda --arch mobilellm-r1-140m --batch 2 \
     --seq 4096 --steps 5 --precision bf16 --json >"$LOGS/gpu-check.train-mma.json" 2>"$LOGS/gpu-check.train-mma.log"; then
  row "tinythink train 140M bf16, mma attention" "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.0f tok/s, %.0f%% of cuBLASLt, peak %.0f MiB" % (j["tokens_per_s"], 100*j["mfu"], j["peak_device_mb"]))' "$LOGS/gpu-check.train-mma.json" 2>/dev/null || echo "no JSON")"
else
  tail -5 "$LOGS/gpu-check.train-mma.log"
  row "tinythink train 140M bf16, mma attention" "FAILED: $(tail -1 "$LOGS/gpu-check.train-mma.log" | cut -c1-120)"
fi

echo "== per-op device time of that step (bench train --device cuda --profile: each op waited for, slower)"
timeout 60 "$BIN/tinythink" bench train --device cuda --arch mobilellm-r1-140m --batch 2 --seq 4096 --steps 2 \
  --precision bf16 --profile --json >"$LOGS/gpu-check.profile.json" 2>"$LOGS/gpu-check.profile.log"
cat "$LOGS/gpu-check.profile.log"
while read -r name value; do row "  step op: $name" "$value"; done < <(python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))["profile"]
for r in sorted(rows, key=lambda r: -r["ms_per_step"])[:8]:
    print(r["op"].replace(" ", "_"), "%.1f ms/step (%.0f%%)" % (r["ms_per_step"], 100 * r["share"]))' "$LOGS/gpu-check.profile.json" 2>/dev/null)

echo "== kernel benchmarks (batch 2 x seq 4096, MobileLLM-R1-140M shapes)"
timeout 45 "$BIN/tinythink_cuda_bench" 2 4096 | tee "$LOGS/gpu-check.bench.log"
bench_rows "$LOGS/gpu-check.bench.log"

echo "== generation kernels (MobileLLM-R1-140M shapes: decode batch 256 at 1024 tokens, prefill 2048; GEMM tiles at 1/64/256 rows)"
timeout 60 "$BIN/tinythink_generation_bench" 256 1024 2048 | tee "$LOGS/gpu-check.generation.log"
bench_rows "$LOGS/gpu-check.generation.log"

if python3 -c 'import torch, transformers' 2>/dev/null; then
  echo "== transformers + torch training step (MobileLLM-R1-140M, batch 2 x seq 4096, bf16 autocast, SDPA)"
  MODEL140=$BUILD/mobilellm-r1-140m
  [ -f "$MODEL140/config.json" ] || "$BIN/tinythink" init-model --arch mobilellm-r1-140m --out "$MODEL140" --seed 1 >/dev/null
  timeout 75 python3 tools/torch_train_bench.py "$MODEL140" --batch 2 --seq 4096 --steps 5 | tee "$LOGS/gpu-check.torch-train.log"
  row "transformers train tok/s" "$(python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(r["tokens_per_second"], "(mfu", r["mfu"], ", peak", r["peak_memory_gib"], "GiB, torch", r["torch"] + ")")' "$LOGS/gpu-check.torch-train.log" 2>/dev/null || echo failed)"
fi

if [ -n "$PREBUILT" ] && [ "${FAILED:-0}" != 0 ] && command -v compute-sanitizer >/dev/null; then
  FILTER=$(grep -E '^\[  FAILED  \] [A-Za-z]' "$LOGS/gpu-check.tests.log" | sort -u | awk '{print $4}' | paste -sd: -)
  echo "== compute-sanitizer memcheck on the failed tests ($FILTER)"
  timeout 60 compute-sanitizer --tool memcheck --print-limit 20 "$BIN/tinythink_cuda_tests" --gtest_filter="$FILTER" \
    >"$LOGS/gpu-check.sanitizer.log" 2>&1
  tail -60 "$LOGS/gpu-check.sanitizer.log"
  row "memcheck (failed tests)" "$(grep -m1 -E 'ERROR SUMMARY' "$LOGS/gpu-check.sanitizer.log" || echo 'no summary (timeout?)')"
fi

echo "== generation engine (bench generate --device cuda, MobileLLM-R1-140M random: batch 256, prompt 128, 1024 new)"
timeout 100 "$BIN/tinythink" bench generate --device cuda --precision bf16 --batch 256 --prompt 128 --new 1024 --json \
  >"$LOGS/gpu-check.engine.json" 2>"$LOGS/gpu-check.engine.log"
cat "$LOGS/gpu-check.engine.log" "$LOGS/gpu-check.engine.json"
engine_field() { python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))[sys.argv[2]]))" "$@" 2>/dev/null || echo "?"; }
row "engine prefill tok/s" "$(engine_field "$LOGS/gpu-check.engine.json" prefill_tokens_per_s)"
row "engine decode tok/s" "$(engine_field "$LOGS/gpu-check.engine.json" decode_tokens_per_s)"
row "engine device peak MB" "$(engine_field "$LOGS/gpu-check.engine.json" device_peak_without_unused_kv_mb) (without the unused KV pool)"
# The same run on the mma.sync GEMM family (TINYTHINK_CUDA_GENERATION_GEMM=mma, wmma by default until
# this card has run RowInvariantGemm.* above and measured it faster).
TINYTHINK_CUDA_GENERATION_GEMM=mma timeout 100 "$BIN/tinythink" bench generate --device cuda --precision bf16 --batch 256 \
  --prompt 128 --new 1024 --json >"$LOGS/gpu-check.engine-mma.json" 2>"$LOGS/gpu-check.engine-mma.log"
tail -2 "$LOGS/gpu-check.engine-mma.log"
row "engine decode tok/s, mma GEMMs" "$(engine_field "$LOGS/gpu-check.engine-mma.json" decode_tokens_per_s)"
# Decode steps replayed from CUDA graphs (TINYTHINK_CUDA_GRAPHS=1, off by default until this card has
# run EngineOnDevice.CudaGraph* and DeviceForward.CudaGraph* above), at batch 256 and at batch 16, where
# launches weigh most; the batch-16 call-by-call row beside it.
for b in 256 16; do
  for graphs in 1 0; do
    [ "$b" = 256 ] && [ "$graphs" = 0 ] && continue  # the row above
    new=$([ "$b" = 256 ] && echo 1024 || echo 256)
    TINYTHINK_CUDA_GRAPHS=$graphs timeout 60 "$BIN/tinythink" bench generate --device cuda --precision bf16 --batch "$b" \
      --prompt 128 --new "$new" --json >"$LOGS/gpu-check.engine-b$b-g$graphs.json" 2>"$LOGS/gpu-check.engine-b$b-g$graphs.log"
    tail -2 "$LOGS/gpu-check.engine-b$b-g$graphs.log"
    row "engine decode b$b $([ "$graphs" = 1 ] && echo graphs || echo eager)" \
      "$(engine_field "$LOGS/gpu-check.engine-b$b-g$graphs.json" decode_tokens_per_s) tok/s"
  done
done
if python3 -c "import torch, transformers" 2>/dev/null; then
  echo "== transformers generate, same shapes (tools/hf_generate_bench.py)"
  timeout 90 python3 tools/hf_generate_bench.py --batch 256 --prompt 128 --new 1024 | tee "$LOGS/gpu-check.hf.json"
  row "transformers decode tok/s" "$(engine_field "$LOGS/gpu-check.hf.json" decode_tokens_per_s)"
  echo "== log-prob parity with transformers (tools/hf_logits_parity.py)"
  timeout 60 python3 tools/hf_logits_parity.py --tinythink "$BIN/tinythink" | tee "$LOGS/gpu-check.parity.log"
  row "hf parity" "$(grep -c ' ok$' "$LOGS/gpu-check.parity.log")/3 ok"
fi

# The study's suite end to end on the GPU (eval --device cuda, a random 140M model: it never stops, so
# every document runs to its task's token budget), when the caller brings the data: a folder with the
# layout of ../shared (data/ with the task folders and tokenizer/llama3/tokenizer.json, reference/).
if [ -n "${GPU_CHECK_EVAL_SHARED:-}" ] && [ -d "$GPU_CHECK_EVAL_SHARED/data" ]; then
  echo "== eval suite on the GPU (bench/eval_suite.sh ${GPU_CHECK_EVAL_LIMIT:-5} ${GPU_CHECK_EVAL_TASKS:-tiny_think})"
  BUILD_DIR=$BIN SHARED=$GPU_CHECK_EVAL_SHARED OUT=/tmp/gpu-check-eval DEVICE=cuda \
    timeout "${GPU_CHECK_EVAL_TIMEOUT_S:-90}" bench/eval_suite.sh "${GPU_CHECK_EVAL_LIMIT:-5}" "${GPU_CHECK_EVAL_TASKS:-tiny_think}" \
    2>&1 | tee "$LOGS/gpu-check.eval.log"
  row "eval suite (limit ${GPU_CHECK_EVAL_LIMIT:-5})" "$(grep -m1 '^# wall' "$LOGS/gpu-check.eval.log" || echo 'no result (timeout?)')"
  while read -r task docs seconds docs_s gen_s _; do
    row "  eval $task" "$docs docs, $seconds s, $docs_s docs/s, $gen_s gen tok/s"
  done < <(sed -n '/^task /,$p' "$LOGS/gpu-check.eval.log" | tail -n +2)
fi

row "wall time" "$(elapsed)"
summary
