#!/usr/bin/env bash
# Training-step throughput of tinythink and of the PyTorch eager baseline (bench/torch_train_step.py,
# Debian python3-torch) on the MobileLLM-R1-140M shape, run one after the other on the same machine.
# Prints one JSON line per run. Usage: bench/compare_train.sh [SEQ ...]   (default: 512)
# Env: BUILD_DIR (default build), STEPS (timed steps, default 2), TORCH_DTYPES (default "fp32 bf16").
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
STEPS=${STEPS:-2}
TORCH_DTYPES=${TORCH_DTYPES:-"fp32 bf16"}
seqs=("$@")
[ ${#seqs[@]} -gt 0 ] || seqs=(512)
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; BLAS for torch:" \
     "$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"
for seq in "${seqs[@]}"; do
  for precision in fp32 bf16; do
    OMP_NUM_THREADS=2 "$BUILD_DIR/tinythink" bench train --arch mobilellm-r1-140m --batch 1 --seq "$seq" \
      --steps "$STEPS" --precision "$precision" --json
  done
  for dtype in $TORCH_DTYPES; do
    /usr/bin/python3 bench/torch_train_step.py --preset mobilellm-r1-140m --batch 1 --seq "$seq" --dtype "$dtype" \
      --steps "$STEPS" --threads 2 2>/dev/null
  done
done
