#!/usr/bin/env bash
# Installs everything modebench needs on a fresh Debian 12 machine: Debian packages and
# PyPI only. Idempotent and quick when nothing is missing (ci/bench.sh and ci/test.sh run
# it first): apt and pip are only called for what is not there yet.
# The CUDA toolkit is not installed here: it is optional (found -> GPU modes built).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_packages=(
  build-essential cmake ninja-build git pkg-config
  libopenblas-dev        # BLAS for linear/conv (find_package(BLAS))
  libopenblas-openmp-dev # the OpenMP build: one thread pool with oneDNN (CMakeLists.txt)
  libdnnl-dev            # oneDNN: PyTorch's CPU path for linear/conv
  ocl-icd-opencl-dev opencl-headers  # Debian's oneDNN CMake config requires OpenCL
  libbenchmark-dev       # Google Benchmark (JSON reporter, registry)
  libgtest-dev googletest
  nlohmann-json3-dev     # JSON context, probe output
  libcli11-dev           # command-line parsing
  libhwy-dev             # Google Highway: the host kernels' SIMD, dispatched at run time (kernels/cpu/simd.hpp)
  libboost-context-dev   # fibers: the simulated device's CUDA threads (sim/simt.cpp)
  libomp-14-dev          # the TSan job's OpenMP: libomp with Archer (CMakeLists.txt, ctest -L tsan)
  libnanoflann-dev       # k-d tree baseline for knn (comparison benchmark only)
  libopencv-imgproc-dev  # GaussianBlur baseline for ssim (comparison benchmark only)
  clang-format
  clang-14 libclang-rt-14-dev  # libFuzzer, ASan and UBSan for the parsers' fuzz targets (ci/fuzz.sh)
  chromium chromium-driver  # the report's page is tested in headless Chromium (report/tests/test_browser.py)
  postgresql             # the fleet's history store: report/tests/test_store.py runs a throwaway server (initdb/pg_ctl)
  python3 python3-pip python3-venv
)
# The aarch64 cross-build, tested under qemu-user (ci/test.sh, cmake/toolchain-aarch64.cmake): Debian's
# cross compiler, qemu and the :arm64 libraries beside the native ones (multiarch). Only on x86-64.
cross_arch=""
if [ "$(dpkg --print-architecture)" = amd64 ]; then
  cross_arch=arm64
  if ! dpkg --print-foreign-architectures | grep -qx "$cross_arch"; then
    echo "setup: adding the $cross_arch architecture (multiarch) for the aarch64 cross-build"
    $SUDO dpkg --add-architecture "$cross_arch"
  fi
  apt_packages+=(g++-aarch64-linux-gnu qemu-user libopenblas-dev:arm64 libopenblas-openmp-dev:arm64
    libbenchmark-dev:arm64 libgtest-dev:arm64 libhwy-dev:arm64)
fi

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# oneDNN for arm64: its dnnl_config.h differs from amd64's (no OpenCL runtime), so libdnnl-dev:arm64
# cannot be installed beside the native package; it and libdnnl2:arm64 are unpacked into a prefix
# of their own, which cmake/toolchain-aarch64.cmake searches.
dnnl_prefix=/opt/modebench-aarch64
if [ -n "$cross_arch" ] && [ ! -f "$dnnl_prefix/usr/lib/aarch64-linux-gnu/cmake/dnnl/dnnl-config.cmake" ]; then
  echo "setup: unpacking oneDNN for $cross_arch into $dnnl_prefix"
  debs=$(mktemp -d)
  chmod a+rwx "$debs"  # apt downloads as its own user
  (cd "$debs" && apt-get download -q "libdnnl2:$cross_arch" "libdnnl-dev:$cross_arch")
  # Unpacked beside it, then renamed: an interrupted set-up never leaves half a prefix that looks whole.
  for deb in "$debs"/*.deb; do $SUDO dpkg -x "$deb" "$dnnl_prefix.tmp$$"; done
  $SUDO rm -rf "$dnnl_prefix"
  $SUDO mv "$dnnl_prefix.tmp$$" "$dnnl_prefix"
  rm -rf "$debs"
fi

# Python requirements: pip only when one is missing or too old.
for req in "$here/report/requirements.txt" "$here/ci/requirements-test.txt"; do
  if ! python3 "$here/ci/requirements_met.py" "$req"; then
    python3 -m pip install -q --disable-pip-version-check -r "$req"
  fi
done
# Packages whose declared pins would replace this environment's numpy/scipy (and pull clients we
# never call): installed without their dependencies; what we use of them needs numpy and scipy only.
req="$here/report/requirements-nodeps.txt"
if ! python3 "$here/ci/requirements_met.py" "$req"; then
  python3 -m pip install -q --disable-pip-version-check --no-deps -r "$req"
fi

# The simulated device (MODEBENCH_CUDA=SIM, the tests' third build) needs only the CUDA runtime,
# cuBLAS and cuDNN headers: an installed toolkit's, else PyPI's nvidia-* packages ship them.
if [ ! -f /usr/local/cuda/include/cuda_runtime.h ] &&
  ! python3 -c "import glob,site,sys;sys.exit(0 if all(any(glob.glob(p+'/nvidia/*/include/'+h) for p in site.getsitepackages()) for h in ('cuda_runtime.h','cublas_v2.h','cudnn.h')) else 1)"; then
  echo "setup: installing the CUDA headers from PyPI (no toolkit in /usr/local/cuda)"
  python3 -m pip install -q --disable-pip-version-check nvidia-cuda-runtime nvidia-cublas nvidia-cudnn-cu13
fi

# PyTorch: the torch provider measures the user's own torch, so one already installed is kept;
# where none is found it comes from PyPI (several GB: the CUDA wheel and its nvidia-* libraries),
# unless MODEBENCH_TORCH=OFF.
if [ "${MODEBENCH_TORCH:-AUTO}" != "OFF" ] && ! python3 -c "import torch" 2>/dev/null; then
  echo "setup: installing torch from PyPI (MODEBENCH_TORCH=OFF skips it)"
  python3 -m pip install -q --disable-pip-version-check torch
fi
# torchvision, for its MobileNetV2 (the field report's model) in examples/profile_model.py. Its
# models are plain Python: --no-deps, so it never replaces the torch above (8 MB).
if python3 -c "import torch" 2>/dev/null && ! python3 -c "import torchvision" 2>/dev/null; then
  echo "setup: installing torchvision from PyPI (without dependencies: the torch above stays)"
  python3 -m pip install -q --disable-pip-version-check --no-deps torchvision
fi
echo "setup: done"
