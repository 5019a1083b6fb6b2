#pragma once
// Runs this executable again as a child with extra environment variables:
// ptx-jit needs CUDA_FORCE_PTX_JIT before the CUDA context exists, and the
// probe isolates each row so a crash or hang becomes that row's status.
#include <string>
#include <utility>
#include <vector>

namespace mb {

struct ChildResult {
  int exit_code = -1;  // valid when neither signalled nor timed out
  int signal = 0;      // non-zero when the child died of a signal
  bool timed_out = false;
  bool ok() const { return !timed_out && signal == 0 && exit_code == 0; }
  std::string describe() const;
};

// argv[0] is replaced by this process's own executable. `env` is set and `unset`
// removed in the child only.
ChildResult run_self(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
                     double timeout_s, const std::vector<std::string>& unset = {});

// The JIT environment of a forced-PTX-JIT child: CUDA_FORCE_PTX_JIT=1 and a fresh
// cache, with every inherited variable that would change the outcome removed.
struct JitEnvironment {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::string> unset;
  std::string describe() const;
};
JitEnvironment forced_jit_environment(const std::string& cache_dir);

std::string self_executable();

// A fresh empty folder under $TMPDIR (the JIT cache of a forced-JIT child).
std::string make_temp_dir(const std::string& prefix);

}  // namespace mb
