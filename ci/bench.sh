#!/usr/bin/env bash
# The main job, the first command on a fresh Debian 12 machine: set-up (installs only what is
# missing), build, the benchmark sweep (ctest -L bench: every op in every mode this machine can
# run, as 3 interleaved processes, on the profile in $MODEBENCH_PROFILE, default quick), the
# report and the fallback policy over the run folder, and the run stored in the history database.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
profile=${MODEBENCH_PROFILE:-quick}
processes=${MODEBENCH_PROCESSES:-3}
bash ci/setup.sh
[ -f "$build/CMakeCache.txt" ] || bash ci/build.sh
# Contention (docs/contract.md): each process waits up to 20 s for the machine to be quiet, and
# up to 6 processes that ran contended anyway are re-run; at most 120 s of waiting in all.
cmake -S . -B "$build" -DMODEBENCH_BENCH_PROFILE="$profile" -DMODEBENCH_BENCH_PROCESSES="$processes" \
  -DMODEBENCH_BENCH_QUIET_WAIT="${MODEBENCH_QUIET_WAIT:-20}" -DMODEBENCH_BENCH_QUIET_BUDGET="${MODEBENCH_QUIET_BUDGET:-120}" \
  -DMODEBENCH_BENCH_RERUNS="${MODEBENCH_RERUNS:-6}" >/dev/null
cmake --build "$build" --parallel "$(nproc)"
ctest --test-dir "$build" -L bench --output-on-failure
run_id=$(cat results/.current-run)
# Every run remembered: into $MODEBENCH_HISTORY_DB, else results/history.sqlite (the history page).
report/modebench-report ingest "results/$run_id"
echo "results: results/$run_id/  report: results/$run_id/report/index.html  policy: results/$run_id/report/policy.json"
echo "history: report/modebench-report history --out DIR"
