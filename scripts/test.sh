#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds, and runs every test with CTest.
# Tests read ../shared/data beside the repo, or $TINYTHINK_SHARED.
set -euo pipefail
cd "$(dirname "$0")/.."
# chromium: the test that renders report.html headless and takes a screenshot; python3: the fake
# Hub server (tools/hub/fake_hub.py) the download tests start on the loopback interface.
TT_EXTRA_PACKAGES="chromium python3" scripts/setup.sh
# npm's prebuilt llama.cpp, outside the repo: ctest -R llama_cpp loads our GGUF exports with it.
scripts/llama_cpp_setup.sh
# npm's @huggingface/hub, pinned by tools/hub/package-lock.json, into tools/hub/node_modules (as
# tools/parquet's DuckDB): ctest -R hub.cache_layout compares our Hub cache tree with the one it writes.
# Without npm, or when npm ci fails, that test is skipped.
if command -v npm > /dev/null; then
  (cd tools/hub && { [[ -f node_modules/@huggingface/hub/package.json ]] ||
                     npm ci --ignore-scripts --no-audit --no-fund --loglevel=error > /dev/null; }) ||
    echo "test.sh: npm ci failed in tools/hub; the Hub cache layout test will be skipped" >&2
fi
BUILD_DIR=${BUILD_DIR:-build}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 1 --timeout 600
