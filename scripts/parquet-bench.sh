#!/usr/bin/env bash
# The parquet reader's memory and speed check (issue 20): writes a 1 GB parquet file of chat rows with
# DuckDB's defaults (tools/parquet/write_bench.mjs, once; kept in build/parquet-bench/) and runs
# Parquet.LargeFileStreamsInBoundedMemoryAtSpeed on it: peak RSS < 200 MB, >= 200 MB/s per CPU second
# (TT_PARQUET_BENCH_MIN_MBPS overrides the speed bound on a loaded machine). Needs node and npm.
#   scripts/parquet-bench.sh [BUILD_DIR (default build)] [SIZE_MB (default 1024)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
size=${2:-1024}
file="$root/$build/parquet-bench/chat_${size}m.parquet"
if [[ ! -f "$file" ]]; then
  mkdir -p "$(dirname "$file")"
  (cd "$root/tools/parquet" && { [[ -d node_modules ]] || npm ci; } && node write_bench.mjs "$file.tmp" "$size")
  mv "$file.tmp" "$file"
fi
TT_PARQUET_BENCH_FILE="$file" "$root/$build/tinythink_tests" --gtest_filter='Parquet.LargeFileStreamsInBoundedMemoryAtSpeed'
