#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds, and runs every test with CTest.
# Tests read ../shared/data beside the repo, or $TINYTHINK_SHARED.
set -euo pipefail
cd "$(dirname "$0")/.."
# chromium: the test that renders report.html headless and takes a screenshot; python3: the fake
# Hub server (tools/hub/fake_hub.py) the download tests start on the loopback interface.
TT_EXTRA_PACKAGES="chromium python3" scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 1 --timeout 600
