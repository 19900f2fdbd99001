#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds, and runs the main job on the embedded default: `tinythink run`,
# the demo study (configs/demo/study.yaml). Extra arguments go to `tinythink run` (e.g. --out DIR,
# --set STAGE.KEY=VALUE, --dry-run).
set -euo pipefail
cd "$(dirname "$0")/.."
TT_BUILD_TARGETS=tinythink scripts/setup.sh  # the binary only: no tests or benchmarks to compile
BUILD_DIR=${BUILD_DIR:-build}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
"$BUILD_DIR/tinythink" run "$@"
