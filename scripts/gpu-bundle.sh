#!/usr/bin/env bash
# Packs a CUDA build made on this (Debian 12) machine for a GPU machine that has the NVIDIA driver and
# a CUDA 13 runtime but none of the project's Debian libraries and no network: the binaries, the
# plugin and every shared library they need except glibc, libstdc++, the driver and cuBLAS(Lt) (the
# GPU machine's own CUDA toolkit supplies those), in one xz tarball. `scripts/gpu-check.sh --prebuilt
# TARBALL` unpacks it there and runs the same checks without building.
#
# Usage: scripts/gpu-bundle.sh BUILD_DIR OUT_TARBALL
#   BUILD_DIR: configured with -DTT_CUDA=ON -DTT_CUDA_ARCHS=<the card's arch>, targets built:
#              tinythink tinythink_cuda_tests tinythink_cuda_bench tinythink_generation_bench
set -euo pipefail
BUILD=${1:?usage: gpu-bundle.sh BUILD_DIR OUT_TARBALL}
OUT=${2:?usage: gpu-bundle.sh BUILD_DIR OUT_TARBALL}
BINARIES=(tinythink tinythink_cuda_tests tinythink_cuda_bench tinythink_generation_bench libtinythink_cuda.so)
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/bin" "$STAGE/lib"
for b in "${BINARIES[@]}"; do
  [ -f "$BUILD/$b" ] || { echo "gpu-bundle: $BUILD/$b is missing (build it first)" >&2; exit 1; }
  cp "$BUILD/$b" "$STAGE/bin/"
done
# The libraries the loader resolves here, minus what every Linux has (glibc, the C++ runtime) and the
# CUDA libraries the GPU machine must provide in the version matching its driver.
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|librt\.so|libpthread\.so|libstdc\+\+|libgcc_s|libcuda\.so|libcublas)'
for b in "${BINARIES[@]}"; do
  LD_LIBRARY_PATH="$BUILD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$BUILD/$b" | awk '$3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
  [[ $name =~ $skip ]] && continue
  [[ $name == libtinythink_cuda.so ]] && continue
  cp -L "$path" "$STAGE/lib/$name"
done
strip --strip-unneeded "$STAGE"/bin/* "$STAGE"/lib/* 2>/dev/null || true
# The build's configuration, so the GPU side can say what it runs.
grep -E '^(TT_CUDA_ARCHS|CMAKE_BUILD_TYPE|CMAKE_CUDA_COMPILER_VERSION)' "$BUILD/CMakeCache.txt" >"$STAGE/build-info.txt" || true
# The test binary has the source and build folders compiled in (fixtures, the CLI it runs): the GPU
# side links them to where it unpacked.
echo "SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)" >>"$STAGE/build-info.txt"
echo "BUILD_DIR=$(cd "$BUILD" && pwd)" >>"$STAGE/build-info.txt"
echo "COMMIT=$(git -C "$(dirname "$0")/.." rev-parse HEAD 2>/dev/null)" >>"$STAGE/build-info.txt"
mkdir -p "$(dirname "$OUT")"
tar -C "$STAGE" -cf - . | xz -T2 -4 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "gpu-bundle: $OUT ($(du -h "$OUT" | cut -f1); $(ls "$STAGE/lib" | wc -l) libraries)"
