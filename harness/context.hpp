#pragma once
// Facts recorded in the JSON "context" (docs/contract.md list), so a result file
// says which build, libraries, CPU and device produced it.
#include <string>
#include <utility>
#include <vector>

#include "harness/selection.hpp"

namespace mb {

using Facts = std::vector<std::pair<std::string, std::string>>;

// Build, BLAS, oneDNN, CPU and run facts (no device calls). host_gpus and
// nvidia_driver come from the driver's /proc files, so a CPU-only build and a CUDA
// build on the same machine name the same host (the report's host key).
Facts host_facts();
// "OpenBLAS 0.3.21 Haswell" (core type as OpenBLAS detected it, or as OPENBLAS_CORETYPE forced it).
std::string blas_description();
std::string onednn_version();
std::string cpu_model();
int thread_count();
// The first line of a text file (a /proc or /sys fact); empty when unreadable.
std::string first_line(const std::string& path);
// The NVIDIA kernel module's release ("565.57.01") from /proc/driver/nvidia/version; empty when absent.
std::string nvidia_driver_release();
// GPU models the driver lists (/proc/driver/nvidia/gpus/*/information), comma-separated; empty when none.
std::string nvidia_gpu_models();

// Toolkit, runtime, driver, device and library facts; "none" where not built or not present.
Facts cuda_facts();

// A fact of this process's run that the command line established before it (e.g. what
// `run --quiet-wait` found); run_context() adds every one.
void add_run_fact(std::string key, std::string value);
// Those facts (the parent adds them to a document whose entries all ran in children).
const Facts& run_facts();

// Everything of docs/contract.md's context list for a run with this selection.
Facts run_context(const Selection& sel, const std::string& mode_env);

}  // namespace mb
