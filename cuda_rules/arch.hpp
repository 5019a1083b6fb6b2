#pragma once
// Pure model of which code image a CUDA device can load from a binary
// (docs/cuda-facts.md, "Which image the driver runs"). No CUDA calls: the probe
// measures what actually ran; this says what should run, and why.
#include <optional>
#include <string>
#include <vector>

namespace mb {

// Compute capability as major*10+minor: 7.5 -> 75, 12.0 -> 120, 10.3 -> 103.
int cc_major(int cc);
int cc_minor(int cc);
std::string cc_string(int cc);  // "7.5"

// One entry of a binary's code list: SASS for sm_XY[a|f] or PTX for compute_XY[a|f].
struct ArchTarget {
  int cc = 0;
  char suffix = '\0';        // '\0', 'a' (this exact CC only) or 'f' (this family only)
  bool sass = true;          // false: PTX
  std::string name() const;  // "sm_90a" / "compute_75"
  bool operator==(const ArchTarget&) const = default;
};

// Parses CMake CUDA_ARCHITECTURES style lists ("75-real;80-real;75-virtual",
// space or comma separated too; plain "80" means SASS and PTX) and nvcc/cuobjdump
// names ("sm_90a", "compute_75"). Throws std::invalid_argument on a malformed entry.
std::vector<ArchTarget> parse_arch_list(const std::string& list);
// "sm_75 sm_80 | compute_75" style summary; "none" when empty.
std::string describe(const std::vector<ArchTarget>& targets);

// Can `t` serve a device of compute capability `device_cc`?
bool sass_runs_on(const ArchTarget& t, int device_cc);
bool ptx_jits_for(const ArchTarget& t, int device_cc);

enum class ImageKind { sass, ptx, none };

struct ImageChoice {
  ImageKind kind = ImageKind::none;
  std::optional<ArchTarget> target;  // what is expected to load
  bool exact = false;                // SASS built for exactly this CC
  std::string reason;                // one sentence
};

// What the driver is expected to load for a kernel built with `targets` on a
// device of `device_cc`. With both a compatible SASS and PTX present the
// runtime's choice is undocumented; we predict SASS (the best one: highest
// compatible) and the probe measures. With `force_ptx_jit` SASS is ignored.
ImageChoice choose_image(const std::vector<ArchTarget>& targets, int device_cc, bool force_ptx_jit = false);

// Which image of a loaded kernel ran, from its cudaFuncAttributes: "sass:<v>" or "ptx:<v>".
// The runtime does not say whether the code came from SASS or from JIT, so: under forced
// JIT, ptx; else when binaryVersion is a SASS the binary carries that runs on this device,
// the driver loaded that SASS; else the code was JIT-compiled from PTX (a JIT image has the
// device's own CC as binaryVersion, which no carried SASS matched). Versions major*10+minor.
std::string image_that_ran(int binary_version, int ptx_version, int device_cc, const std::vector<ArchTarget>& built,
                           bool forced_jit);

// Toolkit facts (docs/cuda-facts.md table). Versions as major*1000+minor*10 (13.0 -> 13000),
// the format of cudaRuntimeGetVersion / cudaDriverGetVersion.
struct ToolkitInfo {
  int version;             // 12080
  int lowest_sass;         // 50
  int highest_sass;        // 120
  int min_driver_branch;   // 570 (Linux)
  const char* min_driver;  // "570.26"
  int ptx_isa;             // 87 = PTX ISA 8.7
};
// The closest table row at or below `version` (nullopt below 11.8).
std::optional<ToolkitInfo> toolkit_info(int version);
// Whether toolkit `version` can emit SASS for `cc` (lowest..highest, and the ones it dropped or renamed).
bool toolkit_targets(int version, int cc);
// The oldest toolkit that can emit SASS for `cc` (0 when unknown; e.g. 120 -> 12080).
int first_toolkit_for(int cc);
// The newest toolkit that still emits SASS for `cc` (0 = still supported by every known toolkit).
int last_toolkit_for(int cc);

// Version strings, one home for every encoding:
// CUDA's major*1000+minor*10 (runtime, driver, toolkit tables): 12080 -> "12.8"; "none" for <= 0.
std::string cuda_version_string(int v);
// cudnnGetVersion: cuDNN 9 is major*10000+minor*100+patch, cuDNN 8 major*1000+minor*100+patch
// (91200 -> "9.12.0", 8907 -> "8.9.7"); "none" for <= 0.
std::string cudnn_version_string(int v);

// PTX ISA (major*10+minor, 9.0 -> 90, the format of ToolkitInfo::ptx_isa) -> the first CUDA
// version that reads it (12080 style); 0 when the ISA is not in the table.
int first_cuda_for_ptx_isa(int isa);
// Can a driver of CUDA version `driver_cuda` (cudaDriverGetVersion) JIT-compile PTX of ISA `isa`?
// A driver compiles the PTX ISAs of its own CUDA version and older ones. nullopt when unknown: an
// ISA not in the table asked of a driver at least as new as the next ISA the table knows.
std::optional<bool> driver_can_jit_ptx(int driver_cuda, int isa);

// Linux driver branch (565) -> the newest CUDA version it supports (12070); 0 when unknown.
int driver_branch_cuda(int branch);
// CUDA version a driver reports (cudaDriverGetVersion, 12080) -> the lowest branch giving it (570).
int min_branch_for_cuda(int cuda_version);

}  // namespace mb
