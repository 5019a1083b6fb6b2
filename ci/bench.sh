#!/usr/bin/env bash
# The main job: build, run the benchmark sweep (ctest -L bench: every op in every
# mode this machine can run, on the profile in $MODEBENCH_PROFILE, default quick),
# and render the report over the run folder.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
profile=${MODEBENCH_PROFILE:-quick}
[ -f "$build/CMakeCache.txt" ] || bash ci/build.sh
cmake -S . -B "$build" -DMODEBENCH_BENCH_PROFILE="$profile" >/dev/null
cmake --build "$build" --parallel "$(nproc)"
ctest --test-dir "$build" -L bench --output-on-failure
run_id=$(cat results/.current-run)
echo "results: results/$run_id/  report: results/$run_id/report/"
