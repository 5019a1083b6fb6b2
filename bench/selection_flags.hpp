#pragma once
// The selection flags of `run`, `list` and `probe` (docs/contract.md, "Executables"), for every
// executable that takes them: modebench and a provider's (bench/torch/), which modebench
// starts with the same flags.
#include <CLI/CLI.hpp>
#include <string>

#include "harness/selection.hpp"

namespace mb {

inline void add_selection_flags(CLI::App& cmd, Selection& sel, std::string& profile) {
  cmd.add_option("--ops", sel.ops, "ops to run (comma-separated), e.g. linear,knn")->delimiter(',');
  cmd.add_option("--modes", sel.modes, "modes, e.g. cpu,gpu,ptx-jit,hybrid")->delimiter(',');
  cmd.add_option("--impls", sel.impls, "impls, e.g. openblas,onednn,cublas")->delimiter(',');
  cmd.add_option("--cases", sel.cases, "cases, e.g. xtts_qkv or linear/xtts_qkv")->delimiter(',');
  cmd.add_option("--shape", sel.shapes,
                 "an ad-hoc case of any shape, repeatable: op:key=value,... in the policy's names, e.g. "
                 "linear:in_features=777,out_features=333")
      ->expected(1)
      ->take_all();
  cmd.add_option("--batches", sel.batches, "batch sizes overriding the profile's")->delimiter(',');
  cmd.add_option("--profile", profile, "quick or full")->capture_default_str();
  cmd.add_option("--seed", sel.seed, "seed of the inputs")->capture_default_str();
}

}  // namespace mb
