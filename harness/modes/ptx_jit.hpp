#pragma once
// The ptx-jit mode: a gpu run in a process started with CUDA_FORCE_PTX_JIT=1, so every
// kernel in the process (vendor libraries' too) is JIT-compiled from PTX or fails. The
// variable is read when the CUDA context is created, so these entries run in a child.
#include <optional>
#include <string>

#include "harness/mode.hpp"

namespace mb {

// Whether this process runs under CUDA_FORCE_PTX_JIT=1.
bool in_forced_jit_process();

// CUDA_FORCE_PTX_JIT=1, a fresh JIT cache in `cache_dir`, lazy module loading (so each
// kernel's JIT lands in the first call that launches it, not in context creation), and
// every inherited variable that would change the outcome removed.
ChildEnvironment forced_jit_environment(const std::string& cache_dir);

// The forced-JIT variables in effect in this process, described; nullopt when not forced.
std::optional<std::string> forced_jit_in_effect();

}  // namespace mb
