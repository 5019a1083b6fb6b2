# Cross-build for aarch64 (the CPUs of Grace Hopper / Grace Blackwell hosts) on a Debian 12
# x86-64 machine; ci/setup.sh installs what it needs, ci/test.sh uses it:
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
#         -DMODEBENCH_CUDA=OFF -DMODEBENCH_TORCH=OFF
# The compiler is Debian's cross g++; the libraries are Debian's :arm64 packages (multiarch:
# /usr/lib/aarch64-linux-gnu, found through CMAKE_LIBRARY_ARCHITECTURE, which CMake takes from
# the compiler; headers are shared with the native packages in /usr/include). Tests run under
# qemu-user: ctest and gtest_discover_tests run every test executable through
# CMAKE_CROSSCOMPILING_EMULATOR. Correctness only, never timings.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# oneDNN's headers are not the same on both architectures (dnnl_config.h: OpenCL on amd64, no GPU
# runtime on arm64), so libdnnl-dev:arm64 cannot be installed beside the native one: ci/setup.sh
# unpacks it (and libdnnl2:arm64) into this prefix of its own instead.
set(MODEBENCH_AARCH64_PREFIX /opt/modebench-aarch64/usr CACHE PATH "Where ci/setup.sh unpacks oneDNN for arm64")
list(APPEND CMAKE_PREFIX_PATH ${MODEBENCH_AARCH64_PREFIX})
# qemu finds the aarch64 dynamic loader and C library of the cross toolchain (libc6-arm64-cross)
# under -L; everything else (multiarch libraries, the oneDNN prefix) by its own path.
find_program(MODEBENCH_QEMU_AARCH64 qemu-aarch64)
if(MODEBENCH_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MODEBENCH_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
endif()
