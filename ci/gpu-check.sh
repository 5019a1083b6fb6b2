#!/usr/bin/env bash
# The GPU acceptance check: everything this project cannot verify on a machine without a GPU,
# in one command on a box with one.
#
#   bash ci/gpu-check.sh --prepare [--arch CC]   here (no GPU needed): build modebench for one GPU
#        architecture (SASS + PTX, default 90 = H100/H200) and pack it with the non-CUDA libraries
#        it links (OpenBLAS, oneDNN, Google Benchmark, ...) into gpu-bundle/ (git-ignored), for a
#        GPU box that has CUDA, cuBLAS and cuDNN but none of our Debian libraries and no network.
#   bash ci/gpu-check.sh --pack BINARY            pack an existing build (what --prepare does after
#        building; tests use it).
#   bash ci/gpu-check.sh [--out DIR]             on the GPU box: use gpu-bundle/ when present, else
#        build here for this GPU's architecture; then run every op in gpu, ptx-jit and hybrid on the
#        quick profile, the memory-capped knn check and `modebench probe`, and print one table.
#
# Exit: 0 all good; 1 a wrong result, a harness error, or a device mode unavailable although a GPU
# is present; 2 bad arguments; 3 no NVIDIA driver on this machine (nothing to check).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

bundle_dir=${MODEBENCH_GPU_BUNDLE:-$here/gpu-bundle}
arch=90
out=""
prepare=0
pack_binary=""
usage() { echo "usage: bash ci/gpu-check.sh [--prepare [--arch CC] | --pack BINARY] [--out DIR]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prepare) prepare=1 ;;
    --arch) [ $# -ge 2 ] || usage; arch=$2; shift ;;
    --pack) [ $# -ge 2 ] || usage; pack_binary=$2; shift ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift ;;
    *) echo "gpu-check: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done
[[ "$arch" =~ ^[0-9]{2,3}[af]?$ ]] || { echo "gpu-check: --arch wants a compute capability like 90 or 120, got '$arch'" >&2; exit 2; }

# Packs `binary` and the shared libraries it links that a CUDA machine does not have (everything
# but the C library, the C++ runtime and CUDA's own) into $bundle_dir/modebench-bundle.tar.gz.
pack() {
  local binary=$1 stage
  stage=$(mktemp -d)
  mkdir -p "$stage/bin" "$stage/lib"
  cp "$binary" "$stage/bin/modebench"
  ldd "$binary" | awk '/=> \//{print $1, $3}' | while read -r name path; do
    case "$name" in
      libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|libstdc++.so*|libgcc_s.so*) ;;  # the system's
      libcuda.so*|libcudart.so*|libcublas*|libcudnn*|libnvrtc*|libnvJitLink*) ;;            # the CUDA box's
      *) cp -L "$path" "$stage/lib/$name" ;;
    esac
  done
  mkdir -p "$bundle_dir"
  tar -C "$stage" -czf "$bundle_dir/modebench-bundle.tar.gz" bin lib
  rm -rf "$stage"
  local bytes
  bytes=$(stat -c %s "$bundle_dir/modebench-bundle.tar.gz")
  # Small enough to copy to a GPU machine along with the repository (48 MiB: this check's own cap).
  if [ "$bytes" -gt $((48 << 20)) ]; then
    echo "gpu-check: the bundle is $((bytes >> 20)) MiB, over the 48 MiB this check allows itself" >&2
    exit 1
  fi
  echo "gpu-check: packed $binary into $bundle_dir/modebench-bundle.tar.gz ($((bytes >> 20)) MiB)"
}

# The bundle must run with nothing but itself, the system and CUDA: only its own libraries
# and CUDA's are on the library path, with the system's default search switched off.
self_test() {
  local dir
  dir=$(mktemp -d)
  tar -C "$dir" -xzf "$bundle_dir/modebench-bundle.tar.gz"
  local cuda_lib=""
  [ -d /usr/local/cuda/lib64 ] && cuda_lib=/usr/local/cuda/lib64
  LD_LIBRARY_PATH="$dir/lib${cuda_lib:+:$cuda_lib}" "$dir/bin/modebench" list --ops linear --modes gpu --batches 1 \
    >/dev/null
  ldd "$dir/bin/modebench" | grep "not found" && { echo "gpu-check: the bundle lacks a library" >&2; exit 1; }
  rm -rf "$dir"
}

if [ -n "$pack_binary" ]; then
  [ -x "$pack_binary" ] || { echo "gpu-check: --pack wants a built modebench, not '$pack_binary'" >&2; exit 2; }
  pack "$pack_binary"
  self_test
  exit 0
fi
if [ "$prepare" = 1 ]; then
  build=${BUILD_DIR:-$here/build-gpu-sm$arch}
  echo "gpu-check: building for sm_$arch (SASS) + compute_$arch (PTX) into $build"
  BUILD_DIR=$build bash ci/build.sh -DMODEBENCH_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$arch-real;$arch-virtual" \
    -DMODEBENCH_NATIVE_CPU=OFF -DBUILD_TESTING=OFF
  pack "$build/modebench"
  self_test
  echo "gpu-check: prepared; on the GPU box run: bash ci/gpu-check.sh"
  exit 0
fi

# ---- on the GPU box ----
if ! { [ -e /proc/driver/nvidia/version ] || nvidia-smi >/dev/null 2>&1; }; then
  echo "gpu-check: no NVIDIA driver on this machine: nothing to check here (run it on a GPU box; exit 3)"
  exit 3
fi
out=${out:-${OUT:-$here/results/gpu-check-$(date -u +%Y%m%d-%H%M%S)}}
# Every step's JSON and log go to details/; summary.txt and details.tar.gz sit next to it. When
# the output folder is $OUT, details/ is removed after packing: two files to bring back.
details=$out/details
mkdir -p "$details"

# CUDA's libraries where a toolkit or the pip nvidia-* packages (a PyTorch environment) keep them.
cuda_libs=$(python3 - <<'EOF' 2>/dev/null || true
import glob, os, site
dirs = []
for root in site.getsitepackages() + [site.getusersitepackages()]:
    dirs += glob.glob(os.path.join(root, "nvidia", "*", "lib")) + glob.glob(os.path.join(root, "nvidia", "cu*", "lib"))
print(":".join(d for d in dirs if os.path.isdir(d)))
EOF
)
export LD_LIBRARY_PATH="${cuda_libs:+$cuda_libs:}/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"

if [ -f "$bundle_dir/modebench-bundle.tar.gz" ]; then
  unpacked=$(mktemp -d)
  tar -C "$unpacked" -xzf "$bundle_dir/modebench-bundle.tar.gz"
  export LD_LIBRARY_PATH="$unpacked/lib:$LD_LIBRARY_PATH"
  modebench=$unpacked/bin/modebench
  echo "gpu-check: using the prepared bundle ($bundle_dir)"
else
  cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n1 | tr -d '. ')
  [ -n "$cc" ] || { echo "gpu-check: cannot read this GPU's compute capability from nvidia-smi" >&2; exit 1; }
  build=${BUILD_DIR:-$here/build-gpu-sm$cc}
  BUILD_DIR=$build bash ci/build.sh -DMODEBENCH_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$cc-real;$cc-virtual" \
    -DBUILD_TESTING=OFF >"$details/build.log" 2>&1 || { echo "gpu-check: build failed, see $details/build.log" >&2; exit 1; }
  modebench=$build/modebench
fi

harness_errors=0
step() {  # name, then the command; a harness error is an exit code other than 0 (ok) and 1 (a wrong entry)
  local name=$1 rc=0
  shift
  echo "gpu-check: $name"
  "$@" >"$details/$name.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
    echo "gpu-check: $name exited with $rc (see $details/$name.log)"
    harness_errors=$((harness_errors + 1))
  fi
}
quick=(--profile quick --benchmark_min_time=0.1)
step probe "$modebench" probe --json "$details/probe.json"
step sweep "$modebench" run --modes gpu,ptx-jit,hybrid "${quick[@]}" --out "$details/sweep.json"
step knn_capped env MODEBENCH_KNN_BUDGET=16M "$modebench" run --ops knn --modes gpu --impls chunked \
  --batches 2000000 --benchmark_min_time=0.1 --out "$details/knn_capped.json"
# cuDNN's fp32 algorithms that our tolerances rest on host emulations of (FFT, Winograd):
# each forced in turn where cuDNN offers it for a shape, and validated.
algo_files=()
for algo in fft fft_tiling winograd winograd_nonfused; do
  step "conv_$algo" env MODEBENCH_CUDNN_ALGO=$algo "$modebench" run --ops conv2d,ssim --modes gpu --impls cudnn \
    --batches 1,8 --benchmark_min_time=0.05 --out "$details/conv_$algo.json"
  algo_files+=("$details/conv_$algo.json")
done

rc=0
set -o pipefail
python3 "$here/ci/gpu_check_summary.py" --gpu-present --harness-errors "$harness_errors" \
  "$details/sweep.json" "$details/knn_capped.json" --probe "$details/probe.json" --forced-algorithms "${algo_files[@]}" | tee "$out/summary.txt" || rc=$?
tar -C "$out" -czf "$out/details.tar.gz" details
[ -n "${OUT:-}" ] && [ "$out" = "${OUT:-}" ] && rm -rf "$details"
echo "gpu-check: summary in $out/summary.txt, every step's JSON and log in $out/details.tar.gz"
exit "$rc"
