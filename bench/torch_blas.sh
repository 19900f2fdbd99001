#!/usr/bin/env bash
# Which BLAS Debian's PyTorch runs its fp32 GEMMs on: the libblas.so.3 it loaded (openblas, blis, or
# "reference" for netlib's, which makes every PyTorch baseline meaningless).
set -euo pipefail
/usr/bin/python3 - <<'PY'
import torch
torch.ones(4, 4) @ torch.ones(4, 4)
libs = {line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.split()[-1]}
names = [l for l in libs if "libblas" in l or "openblas" in l or "blis" in l]
kind = "openblas" if any("openblas" in l for l in names) else "blis" if any("blis" in l for l in names) else "reference"
print(kind, " ".join(sorted(names)))
PY
