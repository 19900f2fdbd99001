#!/usr/bin/env bash
# Runs each libFuzzer target (fuzz/*_fuzz.cpp; ASan + UBSan) for SECONDS, seeded from the repo's
# fixtures and ../shared, and prints one line per target: runs, coverage, corpus size, findings.
#   scripts/fuzz.sh [SECONDS (default 30)] [TARGET ...]   e.g. scripts/fuzz.sh 600 jinja
# Needs clang with libFuzzer (Debian: clang). Builds in build-fuzz/ (or $TT_FUZZ_BUILD); crashes
# are written to build-fuzz/findings/TARGET/ and make the script exit non-zero; once fixed, a finding is
# committed under fuzz/regressions/TARGET/ and replayed by every later run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TT_FUZZ_BUILD:-$root/build-fuzz}
shared=${TINYTHINK_SHARED:-$root/../shared}
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(jinja tokenizer_json tiktoken safetensors jsonl ttshard config yaml_config gguf gen_kwargs parquet sampling_request response_cache)

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang)" >&2; exit 2; }
[ -f "$build/build.ninja" ] || CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTT_FUZZ=ON >/dev/null
ninja -C "$build" "${targets[@]/%/_fuzz}" >/dev/null

# Seeds: small real inputs of each format (files over 1 MiB are left out: libFuzzer mutates small inputs best).
seed() {
  local corpus=$1; shift
  mkdir -p "$corpus"
  for f in "$@"; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 1048576 ] && cp -f "$f" "$corpus/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
  done
  return 0
}
seeds_for() {
  local t=$1 corpus=$2
  case $t in
    jinja) seed "$corpus" "$root"/tests/fixtures/chat_templates/*.jinja "$shared"/reference/*/chat_template.jinja ;;
    tokenizer_json) seed "$corpus" "$root"/tests/fixtures/*/tokenizer.json "$shared"/data/tokenizer/*/tokenizer_config.json
                    printf '%s' '{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"added_tokens":[{"id":3,"content":"<s>","special":true}],"pre_tokenizer":{"type":"ByteLevel"},"decoder":{"type":"ByteLevel"}}' > "$corpus/seed-bpe.json" ;;
    tiktoken) printf 'YQ== 0\nYg== 1\nYWI= 2\n' > "$corpus/seed-tiny.model" 2>/dev/null || { mkdir -p "$corpus"; printf 'YQ== 0\nYg== 1\nYWI= 2\n' > "$corpus/seed-tiny.model"; } ;;
    safetensors) seed "$corpus" "$root"/tests/fixtures/parity/*/model.safetensors "$root"/tests/fixtures/dpo/*/reference.safetensors ;;
    jsonl) seed "$corpus" "$root"/tests/fixtures/sft/*/examples.jsonl "$root"/tests/fixtures/dpo/*/*.jsonl ;;
    ttshard) mkdir -p "$corpus"; TT_FUZZ_WRITE_SEED="$corpus/seed.ttshard" "$build/ttshard_fuzz" >/dev/null 2>&1 || true ;;
    config) seed "$corpus" "$root"/tests/fixtures/parity/*/config.json "$shared"/reference/*/config.json ;;
    yaml_config) seed "$corpus" "$root"/configs/*/*.yaml ;;
    gguf) mkdir -p "$corpus"; TT_FUZZ_WRITE_SEED="$corpus/seed.gguf" "$build/gguf_fuzz" >/dev/null 2>&1 || true ;;
    parquet) seed "$corpus" "$root"/tests/fixtures/parquet/*.parquet "$root"/tests/fixtures/parquet/hub/*/*.parquet ;;
    sampling_request) mkdir -p "$corpus"
                printf '%s' '{"prompt": "x", "temperature": 0.6, "top_p": 0.95, "top_k": -1, "n": 2, "seed": 3, "stop": ["Q:"], "logprobs": 2, "prompt_logprobs": 1, "max_tokens": 9}' > "$corpus/seed-row.json"
                printf '%s' '{"bos_token_id": 1, "eos_token_id": [2, 7], "do_sample": true, "temperature": 0.6, "top_p": 0.95, "top_k": 20, "min_p": null, "repetition_penalty": 1.1, "max_new_tokens": 64}' > "$corpus/seed-generation-config.json" ;;
    response_cache) mkdir -p "$corpus"
                printf '%s\n' '{"format": "tinythink-response-cache-v1", "model": "m", "precision": "fp32", "device": "cpu:avx2"}' \
                  '{"request": "0123456789abcdef0123456789abcdef", "samples": [{"ids": [1, 2], "text": "ab", "finish_reason": "stop"}, {"ids": [3], "text_hex": "ff00", "finish_reason": "length"}]}' \
                  '{"request": "fedcba9876543210fedcba9876543210", "loglikelihood": -3.25}' > "$corpus/seed-cache.jsonl" ;;
    gen_kwargs) mkdir -p "$corpus"
                printf '%s' 'temperature=0.6,top_p=0.95,max_gen_toks=1024,do_sample=true' > "$corpus/seed-kv.txt"
                printf '%s' "until=['Q:', "\n\n", '\u00e9\x41'],top_k=-1,seed=7" > "$corpus/seed-literal.txt"
                printf '%s' '{"until": ["Q:", "

"], "temperature": 0.6, "max_tokens": 9}' > "$corpus/seed-json.txt" ;;
  esac
  mkdir -p "$corpus"
}

status=0
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t findings=$build/findings/$t log=$build/fuzz-$t.log
  mkdir -p "$corpus" "$findings"
  seeds_for "$t" "$corpus"
  # A unit may take up to 25 s: under ASan on a loaded core, a template that builds strings up to
  # the 64 MB limit before being refused takes over 10 s (0.05 s in the release binary).
  # Inputs that once crashed a target (fuzz/regressions/TARGET/) run first, every time.
  regressions=()
  [ -d "$root/fuzz/regressions/$t" ] && regressions=("$root/fuzz/regressions/$t")
  if ! (cd "$findings" && "$build/${t}_fuzz" "$corpus" "${regressions[@]}" -max_total_time="$seconds" -timeout=25 -report_slow_units=25 -rss_limit_mb=4096 \
        -max_len=65536 -print_final_stats=1 >"$log" 2>&1); then
    status=1
  fi
  done_line="$(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1 || true); $(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || true)"
  # UBSan reports and continues; count its lines as findings too.
  crashes=$(( $(find "$findings" -type f | wc -l) + $(grep -c 'runtime error' "$log" || true) ))
  printf '%-15s %s | corpus %s files | findings %s (log %s)\n' "$t" "$done_line" \
    "$(find "$corpus" -type f | wc -l)" "$crashes" "$log"
  [ "$crashes" -eq 0 ] || status=1
done
exit $status
