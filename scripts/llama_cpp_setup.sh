#!/usr/bin/env bash
# Installs the prebuilt llama.cpp that tests/llama_cpp_gguf_test.mjs (ctest -R llama_cpp) checks our GGUF
# exports with: npm's node-llama-cpp and its linux-x64 libllama, pinned by tools/llama_cpp/package-lock.json,
# into a cache folder outside the repo ($TT_LLAMA_CPP_DIR, default ~/.cache/tinythink/llama-cpp; the test
# reads $TT_LLAMA_CPP_MODULES, default that folder's node_modules). No install scripts run: the package's
# postinstall would try to build llama.cpp; the prebuilt binary is all the test needs.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${TT_LLAMA_CPP_DIR:-$HOME/.cache/tinythink/llama-cpp}
if ! command -v npm > /dev/null; then
  echo "llama_cpp_setup: npm not found; the llama.cpp test will be skipped" >&2
  exit 0
fi
mkdir -p "$dir"
cp tools/llama_cpp/package.json tools/llama_cpp/package-lock.json "$dir/"
if ! (cd "$dir" && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error > /dev/null); then
  echo "llama_cpp_setup: npm ci failed in $dir; the llama.cpp test will be skipped" >&2
fi
