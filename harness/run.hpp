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

// Runs the selection; `original_args` are the command's own arguments (a child gets them
// again with its mode). `entry_log`: set in a child, the log its parent reads. Throws
// BadInput before any work.
int run_selection(const Registry& reg, const Selection& sel, const std::string& out,
                  const std::vector<std::string>& gbench_args, const std::vector<std::string>& original_args,
                  const std::string& entry_log = {});

// The arguments minus the named options (both "--opt value" and "--opt=value").
std::vector<std::string> without_options(const std::vector<std::string>& args, const std::vector<std::string>& names);

}  // namespace mb
