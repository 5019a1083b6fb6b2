#pragma once
// `modebench run` and `modebench list`: the entries a selection expands to, run in this
// process or, for a mode that needs one (its table row has a child environment), in a
// child started with that environment; the child's results fold into the same JSON.
#include <string>
#include <vector>

#include "harness/registry.hpp"
#include "harness/selection.hpp"

namespace mb {

inline constexpr int kExitOk = 0;
inline constexpr int kExitWrong = 1;  // some entry was wrong, or a child ended badly
inline constexpr int kExitBadInput = 2;

// One line per entry `run` would run (docs/contract.md names), --benchmark_filter among
// `gbench_args` applied as run applies it. Throws BadInput like run.
std::vector<std::string> list_entries(const Registry& reg, const Selection& sel,
                                      const std::vector<std::string>& gbench_args = {});

// A child's entry that has not finished this long after the last it reported is timed out
// (docs/contract.md `--entry-timeout`): several times the slowest entry of the full profile,
// well under ctest's 900 s per op x mode test, so a hang costs one entry, not the file.
inline constexpr double kDefaultEntryTimeoutS = 300;

struct RunOptions {
  std::string entry_log;  // set in a child: the log its parent reads (and a restarted child resumes)
  double entry_timeout_s = kDefaultEntryTimeoutS;
  // Host entries run in a worker child (this executable again), so a crash or hang costs
  // that entry only. Only for an executable that is `modebench` itself (not a test binary).
  bool isolate_host = false;
};

// Runs the selection; `original_args` are the command's own arguments (a child gets them
// again with its mode). Throws BadInput before any work.
int run_selection(const Registry& reg, const Selection& sel, const std::string& out,
                  const std::vector<std::string>& gbench_args, const std::vector<std::string>& original_args,
                  const RunOptions& opts = {});

// The arguments minus the named options (both "--opt value" and "--opt=value").
std::vector<std::string> without_options(const std::vector<std::string>& args, const std::vector<std::string>& names);

}  // namespace mb
