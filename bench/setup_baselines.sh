#!/usr/bin/env bash
# What bench/compare_cpu.sh compares against, installed: Debian's PyTorch with OpenBLAS as its BLAS
# (python3-torch only needs *a* libblas.so.3: with the reference BLAS alone it runs its fp32 GEMMs
# 10-50x slower, and a ratio against it says nothing), NumPy, and llama.cpp (scripts/llama_cpp_setup.sh).
#   bench/setup_baselines.sh
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(python3-torch python3-numpy libopenblas0-pthread)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "PyTorch's BLAS: $(bench/torch_blas.sh)"
scripts/llama_cpp_setup.sh
