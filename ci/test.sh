#!/usr/bin/env bash
# The test command, the first command on a fresh Debian 12 machine: set-up (installs only
# what is missing), build, then the C++ unit tests (ctest -L unit, native and portable
# builds; the native one includes the torch provider's tests and a small torch cpu run of
# every op) and the report stage's pytest suite. No GPU required.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
bash ci/setup.sh
[ -f "$build/CMakeCache.txt" ] || bash ci/build.sh
cmake --build "$build" --parallel "$(nproc)"
# In CI torch is installed (ci/setup.sh): a build without its provider would skip its tests silently.
if [ "${CI:-}" = true ] && [ "${MODEBENCH_TORCH:-AUTO}" != OFF ] && [ ! -x "$build/modebench-torch" ]; then
  echo "test: modebench-torch was not built although torch is installed (see the cmake output)" >&2
  exit 1
fi
ctest --test-dir "$build" -L unit --output-on-failure --parallel "$(nproc)"
# The host kernels' portable paths (no AVX2/FMA): what runs on CPUs older than the build
# machine. A CPU-only build without -march=native, same unit tests.
portable=${build}-portable
# (torch runs its own CPU code: the provider is tested once, above)
[ -f "$portable/CMakeCache.txt" ] || BUILD_DIR=$portable bash ci/build.sh -DMODEBENCH_CUDA=OFF -DMODEBENCH_NATIVE_CPU=OFF \
  -DMODEBENCH_TORCH=OFF
cmake --build "$portable" --parallel "$(nproc)"
# (the real-binary listings of probe --binary do not depend on the CPU paths: run once, above)
ctest --test-dir "$portable" -L unit -E "^BinaryReal\\." --output-on-failure --parallel "$(nproc)"
# The report stage and the nightly script's own logic (builds a CPU-only variant once).
python3 -m pytest -q report/tests python/modebench_policy/tests ci/tests
