#include "probe/advice.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace mb {

int cudnn_max_device_cc(long v) {
  if (v <= 0) return 0;
  return static_cast<int>(v >= 300 ? v / 10 : v);  // 1200 -> 120; 120 stays
}

namespace {

std::string sm(int cc) { return "sm_" + std::to_string(cc); }

std::string list_of(const std::vector<ArchTarget>& built, bool sass) {
  std::string out;
  for (const auto& t : built)
    if (t.sass == sass) out += (out.empty() ? "" : ", ") + t.name();
  return out.empty() ? "none" : out;
}

int highest_sass(const std::vector<ArchTarget>& built) {
  int h = 0;
  for (const auto& t : built)
    if (t.sass) h = std::max(h, t.cc);
  return h;
}

bool has_ptx(const std::vector<ArchTarget>& built) {
  return std::any_of(built.begin(), built.end(), [](const ArchTarget& t) { return !t.sass; });
}

// Toolkit major's minimum driver (minor-version compatibility): 12.x -> 12.0's, 13.x -> 13.0's.
int major_floor(int toolkit) { return toolkit / 1000 * 1000; }

std::string fix_for(const std::string& cls) {
  if (cls == "no_kernel_image") return "rebuild with CMAKE_CUDA_ARCHITECTURES including this GPU's CC";
  if (cls == "unsupported_ptx") return "upgrade the driver to one at least as new as the build toolkit";
  if (cls == "insufficient_driver") return "upgrade the driver";
  if (cls == "out_of_memory") return "free GPU memory (see nvidia-smi) or probe with a smaller --batch";
  if (cls == "launch_failure") return "run the row under compute-sanitizer and report the crash";
  if (cls == "library_error") return "check the cuBLAS/cuDNN versions against this GPU and driver";
  if (cls == "timeout") return "check that the GPU is not busy or throttled, then probe again";
  return "read the row's message and report it";
}

void device_rules(const AdviceInput& in, int cc, std::vector<Advice>& out) {
  const std::string dev = sm(cc) + " (CC " + cc_string(cc) + ")";
  const auto tk = toolkit_info(in.toolkit);
  const std::string tks = "CUDA " + cuda_version_string(in.toolkit);

  // Toolkit and architecture.
  bool toolkit_cannot = false;
  if (tk && cc < tk->lowest_sass) {
    toolkit_cannot = true;
    const int last = last_toolkit_for(cc);
    std::string fix = last >= 12000 ? "use a 12.x toolkit <= " + cuda_version_string(last) +
                                          " (with a driver of branch <= R580) and rebuild"
                                    : "use toolkit <= " + cuda_version_string(last) + " and rebuild";
    out.push_back({"toolkit_dropped_arch", tks + " cannot target " + dev + " (its lowest is " + sm(tk->lowest_sass) +
                                               "): " + fix + ", or use the cpu mode."});
  } else if (tk && !toolkit_targets(in.toolkit, cc)) {
    const int first = first_toolkit_for(cc);
    if (first > in.toolkit || cc > tk->highest_sass) {
      toolkit_cannot = true;
      out.push_back({"toolkit_too_old_for_arch",
                     tks + " cannot emit SASS for " + dev + ": rebuild with toolkit >= " +
                         (first ? cuda_version_string(first) : std::string("a release that lists ") + sm(cc)) +
                         " and CMAKE_CUDA_ARCHITECTURES including " + std::to_string(cc) + "-real."});
    }
  }

  // Driver and architecture.
  const int need_toolkit = first_toolkit_for(cc);
  if (need_toolkit && in.driver) {
    const auto need = toolkit_info(need_toolkit);
    const bool too_old = in.driver_branch ? in.driver_branch < need->min_driver_branch : in.driver < need_toolkit;
    if (too_old) {
      const std::string have =
          in.driver_branch ? std::to_string(in.driver_branch) : "supporting CUDA " + cuda_version_string(in.driver);
      out.push_back({"driver_too_old_for_arch", "Driver " + have + " is older than the " +
                                                    std::to_string(need->min_driver_branch) + " that " + sm(cc) +
                                                    " needs: upgrade the driver to >= " + need->min_driver + "."});
    }
  }
  if (cc < 75 && (in.driver_branch > 580 || (!in.driver_branch && in.driver > 13000)))
    out.push_back({"driver_dropped_arch", "Drivers after R580 no longer support " + dev +
                                              " (Maxwell, Pascal and Volta end with R580): install an R580 driver."});

  // Which image of our kernels loads.
  if (!in.built.empty() && !toolkit_cannot) {
    const ImageChoice c = choose_image(in.built, cc);
    const std::string carries =
        "the binary has SASS " + list_of(in.built, true) + " and PTX " + list_of(in.built, false);
    if (c.kind == ImageKind::sass && c.exact) {
      out.push_back({"native_exact", "Device " + dev + " runs native SASS " + c.target->name() +
                                         " (exact match): the gpu mode needs no JIT; nothing to fix."});
    } else if (c.kind == ImageKind::sass) {
      out.push_back({"native_compatible", "Device " + dev + " runs SASS " + c.target->name() +
                                              " built for an older minor of its architecture: it works without JIT; "
                                              "add " +
                                              std::to_string(cc) +
                                              "-real to CMAKE_CUDA_ARCHITECTURES for code tuned to this GPU."});
    } else if (c.kind == ImageKind::ptx) {
      out.push_back({"jit_from_ptx", "Device " + dev + ": " + carries + " (highest SASS " + sm(highest_sass(in.built)) +
                                         "), so the gpu mode JIT-compiles every kernel from " + c.target->name() +
                                         " at its first launch whenever the JIT cache is cold; rebuild with "
                                         "CMAKE_CUDA_ARCHITECTURES=" +
                                         std::to_string(cc) + " for native code."});
    } else {
      std::string why;
      for (const auto& t : in.built)
        if (t.suffix == 'a')
          why = " (" + t.name() + " is arch-specific: it loads only on exactly CC " + cc_string(t.cc) + ")";
      out.push_back({"no_kernel_image", "Device " + dev + " cannot load any kernel of this binary: " + carries + why +
                                            ", so every gpu-mode kernel fails with no_kernel_image; rebuild with "
                                            "CMAKE_CUDA_ARCHITECTURES=" +
                                            std::to_string(cc) +
                                            "-real, and add a plain PTX target (e.g. 75-virtual) so newer GPUs can "
                                            "JIT."});
    }
    if (!has_ptx(in.built) || choose_image(in.built, cc, true).kind == ImageKind::none)
      out.push_back({"ptx_jit_impossible", "No PTX in this binary can be JIT-compiled for " + dev +
                                               ": the ptx-jit mode fails with no_kernel_image here, and the gpu mode "
                                               "would on any GPU newer than its SASS; add a -virtual target (e.g. " +
                                               std::to_string(std::min(cc, 75)) +
                                               "-virtual) to CMAKE_CUDA_ARCHITECTURES."});
  }

  // cuDNN and architecture.
  if (in.cudnn >= 91200 && cc < 75)
    out.push_back({"cudnn_dropped_arch", "cuDNN " + cudnn_version_string(in.cudnn) +
                                             " supports CC >= 7.5 only: "
                                             "cuDNN-based impls (conv2d) fail on " +
                                             dev + "; use cuDNN <= 9.11, or the cpu or hybrid mode for them."});
  if (in.cudnn_max_device_cc && cc > in.cudnn_max_device_cc)
    out.push_back({"cudnn_forward_compat",
                   "cuDNN " + cudnn_version_string(in.cudnn) + " knows GPUs up to " + sm(in.cudnn_max_device_cc) +
                       " natively, so on " + dev +
                       " it runs in forward-compatibility mode (PTX JIT; slow first calls, some graphs unsupported): "
                       "upgrade cuDNN to a release whose support matrix lists " +
                       sm(cc) + " (CUDNN_FORWARD_COMPAT_DISABLE=1 turns that mode off)."});
}

void matrix_rules(const AdviceInput& in, std::vector<Advice>& out) {
  auto contains = [](const std::string& s, const char* part) { return s.find(part) != std::string::npos; };
  bool cudnn_jit_failed = false, cublas_jit_ok = false;
  int cpu_ok = 0, cpu_total = 0;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> failed;  // (mode, class) -> rows
  for (const auto& r : in.matrix) {
    const std::string row = r.op + "/" + r.case_name + " " + r.mode + "/" + r.impl;
    if (r.mode == "cpu") {
      ++cpu_total;
      cpu_ok += r.status.is_ok();
    }
    if (r.mode == "ptx-jit" && contains(r.impl, "cudnn") && r.status == StatusKind::failed) cudnn_jit_failed = true;
    if (r.mode == "ptx-jit" && contains(r.impl, "cublas") && r.status.is_ok()) cublas_jit_ok = true;
    if (r.status == StatusKind::wrong)
      out.push_back({"wrong_result", row + " gives wrong results here (" + r.status.text() +
                                         "): do not use it; use the cpu mode for " + r.op + " and report it."});
    if (r.status == StatusKind::failed) failed[{r.mode, std::string(to_string(r.status.error_class()))}].push_back(row);
  }
  if (cudnn_jit_failed && cublas_jit_ok) {
    std::string max = in.cudnn_max_device_cc ? " (cudnnGetMaxDeviceVersion: " + sm(in.cudnn_max_device_cc) + ")" : "";
    out.push_back({"cudnn_fails_forced_jit",
                   "cuDNN fails under forced JIT while cuBLAS works: expect conv2d to fail on a GPU newer than "
                   "cuDNN's native list" +
                       max + "; there, run conv2d in the cpu or hybrid mode or upgrade cuDNN."});
  }
  for (const auto& [key, rows] : failed) {
    std::string names;
    for (size_t i = 0; i < rows.size() && i < 3; ++i) names += (i ? ", " : "") + rows[i];
    if (rows.size() > 3) names += ", ...";
    out.push_back({"rows_failed", std::to_string(rows.size()) + " " + key.first + " row(s) failed with " + key.second +
                                      " (" + names + "): " + fix_for(key.second) + "."});
  }
  if (cpu_total > 0 && cpu_ok == cpu_total)
    out.push_back({"cpu_works", "The cpu mode works: all " + std::to_string(cpu_total) +
                                    " cpu rows ran and validated; use it wherever a device mode is unavailable."});
}

}  // namespace

std::vector<Advice> advise(const AdviceInput& in) {
  std::vector<Advice> out;
  if (!in.built_with_cuda) {
    out.push_back({"no_cuda_build",
                   "This modebench was built without CUDA, so only the cpu mode exists: rebuild with a "
                   "CUDA toolkit installed (cmake -DMODEBENCH_CUDA=ON) for the gpu, ptx-jit and "
                   "hybrid modes."});
  }
  if (in.driver == 0) {
    const auto tk = in.built_with_cuda ? toolkit_info(in.toolkit) : std::nullopt;
    out.push_back({"no_driver", std::string("No NVIDIA driver was found on this machine: the gpu, ptx-jit and hybrid "
                                            "modes cannot run here; the cpu mode works. To use a GPU, install an "
                                            "NVIDIA driver") +
                                    (tk ? std::string(" >= ") + tk->min_driver + " (for this CUDA " +
                                              cuda_version_string(in.toolkit) + " build)"
                                        : "") +
                                    "."});
  } else if (in.built_with_cuda && in.toolkit && in.driver < major_floor(in.toolkit)) {
    const auto need = toolkit_info(major_floor(in.toolkit));
    out.push_back({"insufficient_driver", "The driver supports CUDA " + cuda_version_string(in.driver) +
                                              ", older than the CUDA " + cuda_version_string(in.toolkit) +
                                              " runtime of this build: every device mode fails with "
                                              "insufficient_driver; upgrade the driver to >= " +
                                              (need ? need->min_driver : std::string("the toolkit's minimum")) +
                                              " or rebuild with a toolkit <= " + cuda_version_string(in.driver) + "."});
  } else if (in.built_with_cuda) {
    const auto tk = toolkit_info(in.toolkit);
    if (tk && in.toolkit > in.driver && has_ptx(in.built))
      out.push_back({"unsupported_ptx",
                     "The PTX in this binary comes from CUDA " + cuda_version_string(in.toolkit) +
                         " but the driver only JIT-compiles PTX up to CUDA " + cuda_version_string(in.driver) +
                         ": any JIT (the ptx-jit mode, and the gpu mode on a GPU without matching SASS) fails with "
                         "unsupported_ptx; upgrade the driver to >= " +
                         tk->min_driver + " or build with a toolkit <= " + cuda_version_string(in.driver) + "."});
    if (in.device_ccs.empty())
      out.push_back({"no_device", "The driver (CUDA " + cuda_version_string(in.driver) +
                                      ") sees no GPU: check nvidia-smi, CUDA_VISIBLE_DEVICES and the container's "
                                      "device access; the cpu mode works."});
    std::set<int> seen;
    for (int cc : in.device_ccs)
      if (seen.insert(cc).second) device_rules(in, cc, out);
  }
  matrix_rules(in, out);
  return out;
}

}  // namespace mb
