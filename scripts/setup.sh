#!/usr/bin/env bash
# Installs the Debian 12 packages tinythink builds with (only those missing), then configures and
# builds it into build/. Usage: scripts/setup.sh   (env BUILD_DIR overrides build/)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  ${TT_EXTRA_PACKAGES:-}             # more (scripts/test.sh adds chromium for the report screenshot)
  g++ cmake ninja-build pkg-config   # toolchain
  libdnnl-dev                        # oneDNN: matmuls (fp32; bf16 on AMX / AVX512-BF16)
  ocl-icd-opencl-dev                 # OpenCL headers + loader: Debian's oneDNN CMake config requires them
  nlohmann-json3-dev                 # JSON: configs, safetensors headers, JSONL data
  libyaml-cpp-dev                    # YAML: training configs
  libcli11-dev                       # command line
  libpcre2-dev                       # tokenizer split regex (Unicode classes)
  libsnappy-dev libzstd-dev zlib1g-dev  # parquet page codecs (snappy, zstd, gzip)
  libcurl4-openssl-dev libssl-dev    # Hub downloads (HTTP, sha256 checks)
  libicu-dev                         # tokenizer NFC / NFKC normalizers
  libfmt-dev                         # formatting
  python3-langdetect                 # IFEval's language checks: langdetect's profiles (read at run time, eval/langdetect.h)
  libgtest-dev libgmock-dev          # tests
  libbenchmark-dev                   # micro-benchmarks in bench/
  libopenmpi-dev openmpi-bin         # MPI: data-parallel runs under mpirun/srun, the mpirun -np 2 tests
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

BUILD_DIR=${BUILD_DIR:-build}
# TT_CMAKE_ARGS: extra configure options (CI: -DTT_CUDA_ARCHS=80-real, one CUDA architecture).
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${TT_CMAKE_ARGS:-} > /dev/null
# TT_BUILD_TARGETS: only these targets (scripts/demo.sh builds just the binary); default all.
ninja -C "$BUILD_DIR" -j "$(nproc)" ${TT_BUILD_TARGETS:-}
