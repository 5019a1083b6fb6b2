#include "harness/modes/ptx_jit.hpp"

#include <cstdlib>

namespace mb {

bool in_forced_jit_process() {
  const char* v = std::getenv("CUDA_FORCE_PTX_JIT");
  return v && std::string(v) == "1";
}

ChildEnvironment forced_jit_environment(const std::string& cache_dir) {
  // CUDA_DISABLE_PTX_JIT=1 inherited from the parent would fail every entry; a disabled or
  // capped cache would hide what a user's default cache does after the first run; an
  // inherited CUDA_MODULE_LOADING=EAGER would JIT every kernel at context creation, before
  // any entry, where neither setup_ms nor first_call_ms sees it.
  return {{{"CUDA_FORCE_PTX_JIT", "1"}, {"CUDA_CACHE_PATH", cache_dir}, {"CUDA_MODULE_LOADING", "LAZY"}},
          {"CUDA_DISABLE_PTX_JIT", "CUDA_CACHE_DISABLE", "CUDA_CACHE_MAXSIZE"}};
}

std::optional<std::string> forced_jit_in_effect() {
  if (!in_forced_jit_process()) return std::nullopt;
  const char* cache = std::getenv("CUDA_CACHE_PATH");
  const char* loading = std::getenv("CUDA_MODULE_LOADING");
  return std::string("CUDA_FORCE_PTX_JIT=1 CUDA_CACHE_PATH=") + (cache ? cache : "default") +
         " CUDA_MODULE_LOADING=" + (loading ? loading : "default");
}

}  // namespace mb
