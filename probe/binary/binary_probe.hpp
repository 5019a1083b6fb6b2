#pragma once
// `modebench probe --binary PATH… [--cc X.Y[,X.Y…]] [--driver X.Y] [--arch-list LIST] [--json FILE]`: which SASS and
// PTX each CUDA binary carries, read from ELF section headers and fatbin headers without a GPU, and per file and per
// PATH whether it loads on a device (issue 16).
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "probe/binary/scan.hpp"
#include "probe/binary/verdict.hpp"

namespace mb::binary {

// This box's devices, for when no --cc is given; `why_none` says why the list is empty.
struct LocalDevices {
  std::vector<Device> devices;  // cc and driver_cuda filled, source names the device
  std::string why_none;         // "no CUDA driver on this machine"
};

struct BinaryProbeOptions {
  std::vector<std::string> paths;  // files, directories, Python environments
  std::string cc;                  // "12.0" or "5.0,8.6,12.0": the devices to judge against; empty: this box's
  std::string driver;              // "12.8": the driver's CUDA version (decides which PTX ISA it can JIT)
  std::string json_out;            // also write the report here (atomically)
  // What the software says it was built for (torch.cuda.get_arch_list(): "sm_75 sm_80 ..."),
  // judged beside the binaries; where they disagree the binaries win. Empty: not compared.
  std::string arch_list;
  // This box's devices (bench/main.cpp fills it from the CUDA probe). Unset: no device is known.
  std::function<LocalDevices()> local_devices;
};

// Prints the report to stdout. Exit status: 0 when it could report (bad files are findings, not
// errors), 2 on bad arguments (one line on stderr, before any work), 1 when the JSON file cannot be written.
int probe_binary_main(const BinaryProbeOptions& opts);

// The pieces, for tests and other callers.
// "12.0" -> 120 (compute capability); throws std::invalid_argument.
int parse_compute_capability(const std::string& text);
// "12.8" -> 12080 (CUDA version as drivers report it); throws std::invalid_argument.
int parse_cuda_version(const std::string& text);
// --cc list (and --driver, applied to each) into devices; throws std::invalid_argument.
std::vector<Device> parse_devices(const std::string& cc_list, const std::string& driver);

// The report: {"schema": "modebench-probe-binary/1", ...}; `device_note` says why `devices` is empty.
// `arch_list` (may be empty) is judged beside the binaries on each device.
nlohmann::json binary_probe_report(const std::vector<PathScan>& scans, const std::vector<Device>& devices,
                                   const std::string& device_note, const std::string& arch_list = "");
// The human text of a report.
std::string binary_probe_text(const nlohmann::json& report);

}  // namespace mb::binary
