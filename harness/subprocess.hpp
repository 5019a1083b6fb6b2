#pragma once
// Runs this executable again as a child with extra environment variables:
// ptx-jit needs CUDA_FORCE_PTX_JIT before the CUDA context exists, and the
// probe isolates each row so a crash or hang becomes that row's status.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "harness/mode.hpp"
#include "harness/status.hpp"

namespace mb {

struct ChildResult {
  int exit_code = -1;  // valid when neither signalled nor timed out
  int signal = 0;      // non-zero when the child died of a signal
  bool timed_out = false;
  double timeout_s = 0;
  bool ok() const { return !timed_out && signal == 0 && exit_code == 0; }
  std::string describe() const;
};

// The status of work a child `who` ("the ptx-jit child process") was given and never
// reported: timeout when it was killed for time; killed by a signal: launch_failure when
// it computed on a device (a device fault is the likely cause), else other; any other
// ending: other.
Status unreported_child_status(const ChildResult& r, Side compute, const std::string& who);

// Asked while a child runs: whether it made progress since the last asking.
using ProgressProbe = std::function<bool()>;

// Runs `exe` with `args`; `env` is set and `unset` removed in the child only. The child is
// killed (timed_out) after `timeout_s` seconds, counted from its last progress when
// `progressed` is given (a child that keeps reporting runs on; one that stalls is killed).
ChildResult run_executable(const std::string& exe, const std::vector<std::string>& args,
                           const std::vector<std::pair<std::string, std::string>>& env, double timeout_s,
                           const std::vector<std::string>& unset = {}, const ProgressProbe& progressed = {});

// run_executable with this process's own executable.
ChildResult run_self(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
                     double timeout_s, const std::vector<std::string>& unset = {});

// Runs `executable` (this one when empty) with a mode's child environment.
ChildResult run_child(const std::string& executable, const std::vector<std::string>& args, const ChildEnvironment& env,
                      double timeout_s, const ProgressProbe& progressed = {});

// A child's timeout flag (`--row-timeout`, `--entry-timeout`): BadInput unless more than 0
// and at most 86 400 s (0 or less killed every child at once; NaN never; a huge value
// overflows the deadline's clock).
void check_child_timeout(const std::string& flag, double seconds);

std::string self_executable();

// A fresh empty folder under $TMPDIR (the JIT cache of a forced-JIT child).
std::string make_temp_dir(const std::string& prefix);

}  // namespace mb
