#!/usr/bin/env bash
# Configures and builds modebench into ${BUILD_DIR:-build}. Extra arguments go to cmake.
# CUDA is built when a toolkit is found (MODEBENCH_CUDA=AUTO).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" --parallel "$(nproc)"
