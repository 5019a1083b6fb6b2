#!/usr/bin/env bash
# The test command: C++ unit tests (ctest -L unit) and the report stage's pytest suite.
# Builds first if needed. No GPU required.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
[ -f "$build/CMakeCache.txt" ] || bash ci/build.sh
cmake --build "$build" --parallel "$(nproc)"
ctest --test-dir "$build" -L unit --output-on-failure --parallel "$(nproc)"
# The report stage and the nightly script's own logic (builds a CPU-only variant once).
python3 -m pytest -q report/tests ci/tests
