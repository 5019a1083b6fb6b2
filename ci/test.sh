#!/usr/bin/env bash
# The test command, the first command on a fresh Debian 12 machine: set-up (installs only
# what is missing), build, then the C++ unit tests (ctest -L unit: the torch provider's tests,
# a small torch cpu run of every op, our SIMD kernels on every SIMD target this CPU has; docs/ops.md,
# "SIMD targets"; on x86-64 an aarch64 cross-build, some of its tests under qemu), the simulated device's tests (ctest -L sim), the ThreadSanitizer job (ctest -L
# tsan), the report stage's pytest suite, the history store's tests (SQLite and a throwaway PostgreSQL
# server) and a short fuzz run of every parser (ci/fuzz.sh). No GPU required.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
# Each stage's minutes, for the CI budget (30 min on a fresh 2-core machine).
stage() { echo "test: $1 done at $((SECONDS / 60)) min $((SECONDS % 60)) s"; }
bash ci/setup.sh
stage "set-up"
[ -f "$build/CMakeCache.txt" ] || bash ci/build.sh
cmake --build "$build" --parallel "$(nproc)"
# In CI torch is installed (ci/setup.sh): a build without its provider would skip its tests silently.
if [ "${CI:-}" = true ] && [ "${MODEBENCH_TORCH:-AUTO}" != OFF ] && [ ! -x "$build/modebench-torch" ]; then
  echo "test: modebench-torch was not built although torch is installed (see the cmake output)" >&2
  exit 1
fi
ctest --test-dir "$build" -L unit --output-on-failure --parallel "$(nproc)"
stage "native build and unit tests"
# aarch64 (Grace hosts), simulated: the host kernels and the harness cross-built with Debian's aarch64 g++
# against the :arm64 libraries (cmake/toolchain-aarch64.cmake, Highway's NEON and SVE targets), and tests
# run under qemu-aarch64 (ctest runs them through the emulator). Correctness only: nothing is timed under
# emulation. qemu-user 7.2 hangs on any OpenMP team of two or more threads (a plain `parallel for`
# does), so the tests run at one thread (MODEBENCH_TEST_ONE_THREAD). They are the references, the
# kernels' shared math, every host impl on every validation shape on every SIMD target, and the
# planted-bug tests that run in seconds under qemu: bugs in our SSIM kernel on every SIMD target,
# in conv2d and conv1d padding, on ad-hoc shapes (the host impls kept beside them) and in a bias
# written on the first call only. The other planted-bug tests build registered-case-sized
# problems, 40-600 s each under qemu, or need three threads; they run natively above. oneDNN is
# held to its NEON kernels (DNNL_MAX_CPU_ISA): its SVE JIT code crashes on conv1d under qemu's wide
# SVE, and Grace's 128-bit SVE gets oneDNN 2.6's NEON kernels anyway (README, "Arm (aarch64),
# simulated"). machine_limits is built to check its NEON loop compiles.
aarch64_test_files='test_common_knn|test_common_ssim|test_knn|test_ssim|test_conv2d|test_linear|test_validation_shapes|test_planted_bugs'
aarch64_tests='^(Morton|Top3|KnnSearch|KnnRef|CommonGaussian|CommonSsimMath|SsimRef|SsimMath|Conv2dRef|LinearRef)\.'
aarch64_tests+='|^ValidationShapes\.(NameThePolicysDimensions|EveryHostImplIsRightOnEveryValidationShape.*)$'
aarch64_tests+='|^PlantedBugs\.(BugsOnlyTheValidationShapesReachAreCaught|SsimFlatRegionBugsAreCaughtWhereCorrectFp32Passes)$'
aarch64_tests+='|^PlantedBugs\.(AdhocShapesAreValidatedLikeNamedCases|LinearBiasWrittenOnFirstCallOnlyIsWrongAfterTheTimedLoop)$'
if [ "$(uname -m)" = x86_64 ]; then
  arm=${build}-aarch64
  [ -f "$arm/CMakeCache.txt" ] || cmake -S . -B "$arm" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake -DMODEBENCH_CUDA=OFF -DMODEBENCH_TORCH=OFF \
    -DMODEBENCH_UNIT_TESTS="$aarch64_test_files"
  cmake --build "$arm" --parallel "$(nproc)" --target unit_tests machine_limits
  OMP_NUM_THREADS=1 MODEBENCH_TEST_ONE_THREAD=1 DNNL_MAX_CPU_ISA=ADVANCED_SIMD \
    ctest --test-dir "$arm" -L unit -R "$aarch64_tests" --output-on-failure --parallel "$(nproc)" --timeout 600
  stage "aarch64 cross-build and tests under qemu"
fi
# The simulated device: the gpu, ptx-jit and hybrid code (our kernels, the runtime, cuBLAS and
# cuDNN calls) run on the CPU under AddressSanitizer and UBSan, every entry validated against
# cpu_ref/, the device and hybrid impls on every validation shape too (ctest -L sim; tests/sim/).
# Only what those tests need is built.
sim=${build}-sim
[ -f "$sim/CMakeCache.txt" ] || cmake -S . -B "$sim" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DMODEBENCH_CUDA=SIM \
  -DMODEBENCH_TORCH=OFF -DMODEBENCH_SANITIZE=address,undefined
cmake --build "$sim" --parallel "$(nproc)" --target modebench sim_tests sim_validation_tests
stage "simulated-device build"
ctest --test-dir "$sim" -L sim --output-on-failure
stage "simulated-device tests"
# ThreadSanitizer: our kernels at small shapes, the simulated device's CUDA threads as OS threads and
# our OpenMP host kernels at 3 threads; any report fails (ctest -L tsan). Only tsan_tests is built.
tsan=${build}-tsan
[ -f "$tsan/CMakeCache.txt" ] || cmake -S . -B "$tsan" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DMODEBENCH_CUDA=SIM \
  -DMODEBENCH_TORCH=OFF -DMODEBENCH_SANITIZE=thread
cmake --build "$tsan" --parallel "$(nproc)" --target tsan_tests
ctest --test-dir "$tsan" -L tsan --output-on-failure --parallel "$(nproc)"
stage "ThreadSanitizer build and tests"
# The report stage and the nightly script's own logic (builds a CPU-only variant once).
python3 -m pytest -q report/tests python/modebench_policy/tests ci/tests \
  --ignore=report/tests/test_store.py --ignore=report/tests/test_history.py
stage "Python tests"
# The history store on SQLite and a throwaway PostgreSQL server (initdb/pg_ctl), and its page in Chromium.
python3 -m pytest -q report/tests/test_store.py report/tests/test_history.py
stage "history store tests"
# Fuzzing (issue 23): each parser of outside input (both policy readers, probe --binary's ELF/fatbin
# reader, the report's loader) for 30 s under libFuzzer, the C++ ones with ASan and UBSan, seeded
# from real files; one line of figures per target; fails on any crash, sanitizer report or
# disagreement of the two policy readers (ci/fuzz.sh).
BUILD_DIR=$build bash ci/fuzz.sh
stage "fuzzing"
