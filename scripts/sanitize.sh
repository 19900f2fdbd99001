#!/usr/bin/env bash
# Builds the test binary and the CLI with ASan + UBSan (clang, the fuzz build's flags, no CUDA) and
# runs the host tests there (ctest, GPU tests excluded). A sanitizer report fails the script, even
# in a test that passed (UBSan reports without stopping).
#   scripts/sanitize.sh [CTEST_REGEX]   e.g. scripts/sanitize.sh 'Dpo|Sft|Workspace'
# Needs clang (Debian: clang). Shares build-fuzz/ (or $TT_FUZZ_BUILD) with scripts/fuzz.sh. About 3x
# the time of the plain tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TT_FUZZ_BUILD:-$root/build-fuzz}
command -v clang++ >/dev/null || { echo "sanitize.sh: clang++ not found (apt-get install clang)" >&2; exit 2; }
# nvcc compiles host code with gcc, which does not take the fuzzer flag: the CUDA backend stays out
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTT_FUZZ=ON -DTT_CUDA=OFF >/dev/null
if ! ninja -C "$build" tinythink tinythink_tests >"$build/sanitize-build.log" 2>&1; then
  grep -E "error|FAILED" "$build/sanitize-build.log" | head -20
  echo "sanitize.sh: the build failed ($build/sanitize-build.log)" >&2
  exit 1
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
status=0
(cd "$build" && ctest -j"$(nproc)" -E 'cuda\.|fuzz' ${1:+-R "$1"} --timeout 1200 --output-on-failure) || status=1
log=$build/Testing/Temporary/LastTest.log
reports=$(grep -cE "runtime error:|ERROR: AddressSanitizer" "$log" || true)
if [ "$reports" != 0 ]; then
  echo "sanitize.sh: $reports sanitizer report(s) in $log:"
  grep -E "runtime error:|ERROR: AddressSanitizer" "$log" | sort | uniq -c | head -40
  status=1
fi
[ $status = 0 ] && echo "sanitize.sh: passed, no sanitizer reports"
exit $status
