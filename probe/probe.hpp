#pragma once
// modebench probe: what will run on this box, and why (issue 4, docs/cuda-facts.md).
#include <cstdint>
#include <string>
#include <vector>

#include "harness/context.hpp"
#include "harness/selection.hpp"

namespace mb {

struct ProbeOptions {
  int64_t batch_override = 0;     // 0: each case's smallest batch
  bool child_row = false;         // internal: this process runs one matrix row
  std::string row_out;            // internal: where the child writes its row's JSON line (default stdout)
  double row_timeout_s = 120.0;   // a row's child process is killed after this
  bool measure_bandwidth = true;  // host<->device copy bandwidth and latency
};

int probe_main(const Selection& sel, const ProbeOptions& opts, const std::string& json_out,
               const std::vector<std::string>& original_args);

// ---- CUDA side (harness/cuda/probe_cuda.cpp; a no-CUDA definition in probe.cpp) ----

struct KernelImage {
  std::string name;
  int binary_version = 0;  // cudaFuncAttributes::binaryVersion (major*10+minor), 0 = not loaded
  int ptx_version = 0;
  std::string image;  // "sass:90", "ptx:75" (JIT from PTX), or "none: <error>"
};

struct Bandwidth {
  bool measured = false;
  std::string error;  // why it was not measured
  double bytes = 0;   // size of the large copies
  double pinned_h2d_gbs = 0, pinned_d2h_gbs = 0;
  double pageable_h2d_gbs = 0, pageable_d2h_gbs = 0;
  double latency_h2d_us = 0, latency_d2h_us = 0;  // 4-byte pinned copy, median
};

struct DeviceInfo {
  int index = 0;
  std::string name;
  int cc = 0;  // major*10+minor
  int sm_count = 0;
  double total_mem_bytes = 0, free_mem_bytes = 0;
  std::string pci_bus_id;  // "0000:01:00.0"
  std::string pcie_link;   // from sysfs: "current 16.0 GT/s PCIe x16 (max 32.0 GT/s PCIe x16)"
  Bandwidth bandwidth;
  std::vector<KernelImage> kernels;
  std::string kernels_note;  // why the list is empty, when it is
};

struct CudaProbe {
  bool built = false;           // this binary has the CUDA modes
  bool driver_present = false;  // libcuda loads
  int driver_version = 0;       // cudaDriverGetVersion, 0 = none
  int runtime_version = 0;      // cudaRuntimeGetVersion
  int driver_branch = 0;        // from /proc/driver/nvidia/version
  std::string driver_release;   // "565.57.01" when known
  std::string unavailable;      // empty when device modes can run; else why not
  std::vector<DeviceInfo> devices;
  std::string cublas_version = "none";
  int cudnn_version = 0;
  long cudnn_max_device_version = 0;  // raw value of cudnnGetMaxDeviceVersion
};

CudaProbe probe_cuda(bool measure_bandwidth);
// Why the device modes certainly cannot run here (no driver, no device, built without CUDA),
// decided without creating a CUDA context; empty when they may.
std::string device_modes_unavailable();

// Host-side helpers shared by both builds.
// PCIe link of a PCI device from sysfs (NVML is not used); empty when unreadable.
std::string pcie_link_from_sysfs(const std::string& bus_id);

}  // namespace mb
