// The CUDA side of `modebench probe`: driver, runtime, devices, PCIe, copy
// bandwidth, which image of each of our kernels loads, library versions.
// Runs in the probe's parent process; anything that may crash runs in row children.
#include <cublas_api.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "harness/device/cuda/cuda_device.hpp"
#include "harness/registry.hpp"
#include "harness/test_trace.hpp"
#include "probe/probe.hpp"

namespace mb {
namespace {

std::string err_text(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + " (" + std::to_string(static_cast<int>(e)) + "): " + cudaGetErrorString(e);
}

// RAII buffers for the bandwidth measurement.
struct DeviceMem {
  void* p = nullptr;
  explicit DeviceMem(size_t n) {
    if (cudaMalloc(&p, n) != cudaSuccess) p = nullptr;
  }
  DeviceMem(const DeviceMem&) = delete;
  DeviceMem& operator=(const DeviceMem&) = delete;
  ~DeviceMem() {
    if (p) cudaFree(p);
  }
};
struct PinnedMem {
  void* p = nullptr;
  explicit PinnedMem(size_t n) {
    if (cudaMallocHost(&p, n) != cudaSuccess) p = nullptr;
  }
  PinnedMem(const PinnedMem&) = delete;
  PinnedMem& operator=(const PinnedMem&) = delete;
  ~PinnedMem() {
    if (p) cudaFreeHost(p);
  }
};

using Clock = std::chrono::steady_clock;

// Best of `reps` synchronous copies, in seconds; negative on error.
double best_copy_s(void* dst, const void* src, size_t n, cudaMemcpyKind kind, int reps) {
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    if (cudaMemcpy(dst, src, n, kind) != cudaSuccess || cudaDeviceSynchronize() != cudaSuccess) return -1;
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

double median_copy_us(void* dst, const void* src, size_t n, cudaMemcpyKind kind, int reps) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    if (cudaMemcpy(dst, src, n, kind) != cudaSuccess) return -1;
    t.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + reps / 2, t.end());
  return t[reps / 2];
}

Bandwidth measure_bandwidth() {
  Bandwidth b;
  const size_t n = size_t{64} << 20;
  DeviceMem dev(n);
  PinnedMem pinned(n);
  std::vector<char> pageable(n, 1);  // touched, so page faults are not timed
  if (!dev.p || !pinned.p) {
    b.error = "could not allocate 64 MiB of device or pinned memory";
    return b;
  }
  std::memset(pinned.p, 1, n);
  const int reps = 5;
  const double ph2d = best_copy_s(dev.p, pinned.p, n, cudaMemcpyHostToDevice, reps);
  const double pd2h = best_copy_s(pinned.p, dev.p, n, cudaMemcpyDeviceToHost, reps);
  const double gh2d = best_copy_s(dev.p, pageable.data(), n, cudaMemcpyHostToDevice, reps);
  const double gd2h = best_copy_s(pageable.data(), dev.p, n, cudaMemcpyDeviceToHost, reps);
  const double lh2d = median_copy_us(dev.p, pinned.p, 4, cudaMemcpyHostToDevice, 201);
  const double ld2h = median_copy_us(pinned.p, dev.p, 4, cudaMemcpyDeviceToHost, 201);
  if (ph2d < 0 || pd2h < 0 || gh2d < 0 || gd2h < 0 || lh2d < 0 || ld2h < 0) {
    b.error = "a copy failed: " + err_text(cudaGetLastError());
    return b;
  }
  b.measured = true;
  b.bytes = static_cast<double>(n);
  b.pinned_h2d_gbs = n / ph2d / 1e9;
  b.pinned_d2h_gbs = n / pd2h / 1e9;
  b.pageable_h2d_gbs = n / gh2d / 1e9;
  b.pageable_d2h_gbs = n / gd2h / 1e9;
  b.latency_h2d_us = lh2d;
  b.latency_d2h_us = ld2h;
  return b;
}

// Every kernel the registered device impls launch.
std::vector<KernelImage> kernel_images(std::string& note) {
  std::vector<KernelImage> out;
  for (const KernelRef& k : registry().own_kernels()) {
    KernelImage ki;
    ki.name = k.name;
    cudaFuncAttributes attr{};
    cudaError_t e = cudaFuncGetAttributes(&attr, k.fn);
    if (e != cudaSuccess) {
      ki.image = "none: " + err_text(e);
      cudaGetLastError();  // not sticky; clear it
    } else {
      ki.binary_version = attr.binaryVersion;
      ki.ptx_version = attr.ptxVersion;
    }
    out.push_back(ki);
  }
  if (out.empty()) note = "no device impl lists a kernel of ours";
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string device_modes_unavailable() { return cuda_availability().unavailable; }

CudaProbe probe_cuda(bool bandwidth) {
  test_trace("device");  // contexts on every device from here on (the matrix's children ended before)
  CudaProbe p;
  p.built = true;
  p.driver_release = nvidia_driver_release();
  if (!p.driver_release.empty()) p.driver_branch = std::atoi(p.driver_release.c_str());
  cudaDriverGetVersion(&p.driver_version);  // 0 when no driver is installed
  cudaRuntimeGetVersion(&p.runtime_version);
  p.driver_present = p.driver_version > 0;

  p.cublas_version = cublas_version();
  p.cudnn_version = static_cast<int>(cudnnGetVersion());
  p.cudnn_max_device_version = static_cast<long>(cudnnGetMaxDeviceVersion());

  // The same reason the run's device entries give (harness/device/cuda).
  const CudaAvailability& available = cuda_availability();
  if (available.failure)
    p.unavailable = std::string(to_string(available.failure->error_class)) + ": " + available.failure->what();
  else if (!available.busy.empty())
    p.unavailable = available.busy;
  else
    p.unavailable = available.unavailable;
  if (!p.unavailable.empty()) return p;
  const int count = available.device_count;
  cudaError_t e = cudaSuccess;
  for (int i = 0; i < count; ++i) {
    DeviceInfo d;
    d.index = i;
    cudaDeviceProp prop{};
    if ((e = cudaGetDeviceProperties(&prop, i)) != cudaSuccess) {
      d.name = "unreadable: " + err_text(e);
      p.devices.push_back(d);
      continue;
    }
    d.name = prop.name;
    d.cc = prop.major * 10 + prop.minor;
    d.sm_count = prop.multiProcessorCount;
    d.total_mem_bytes = static_cast<double>(prop.totalGlobalMem);
    char bus[32] = {};
    if (cudaDeviceGetPCIBusId(bus, sizeof bus, i) == cudaSuccess) {
      std::string id = lower(bus);
      if (auto colon = id.find(':'); colon == 8) id = id.substr(4);  // sysfs uses a 4-digit domain
      d.pci_bus_id = id;
      d.pcie_link = pcie_link_from_sysfs(id);
    }
    if (cudaSetDevice(i) == cudaSuccess) {
      size_t free_b = 0, total_b = 0;
      if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) d.free_mem_bytes = static_cast<double>(free_b);
      if (bandwidth)
        d.bandwidth = measure_bandwidth();
      else
        d.bandwidth.error = "not measured (--no-bandwidth)";
      d.kernels = kernel_images(d.kernels_note);
    }
    p.devices.push_back(d);
  }
  cudaSetDevice(0);
  return p;
}

}  // namespace mb
