#!/usr/bin/env bash
# The main job, the first command on a fresh Debian 12 machine: set-up (installs only what is
# missing), build, the benchmark sweep (ctest -L bench: every op in every mode this machine can
# run, as 3 interleaved processes, on the profile in $MODEBENCH_PROFILE, default quick), the
# report over the run folder, and the run stored in the history database.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
profile=${MODEBENCH_PROFILE:-quick}
processes=${MODEBENCH_PROCESSES:-3}
bash ci/setup.sh
[ -f "$build/CMakeCache.txt" ] || bash ci/build.sh
cmake -S . -B "$build" -DMODEBENCH_BENCH_PROFILE="$profile" -DMODEBENCH_BENCH_PROCESSES="$processes" >/dev/null
cmake --build "$build" --parallel "$(nproc)"
ctest --test-dir "$build" -L bench --output-on-failure
run_id=$(cat results/.current-run)
# Every run remembered: into $MODEBENCH_HISTORY_DB, else results/history.sqlite (the history page).
report/modebench-report ingest "results/$run_id"
echo "results: results/$run_id/  report: results/$run_id/report/index.html  history: report/modebench-report history --out DIR"
