#pragma once
// The rows of an impl table that the harness itself runs (a provider's rows, Impl::provider,
// run in its own executable: bench/torch/ for torch).
#include <algorithm>
#include <string>
#include <vector>

#include "harness/op_case.hpp"
#include "harness/registry.hpp"

namespace mb {

inline std::vector<std::string> own_impl_names(const OpCase& c, Placement where) {
  std::vector<std::string> out;
  for (const Impl& i : c.impls())
    if (i.placement == where && i.provider.empty()) out.push_back(i.name);
  return out;
}

// Every impl name of the registry's own rows, and the hybrid mode's naive and cached, comma-separated
// (a --impls value that leaves every provider out).
inline std::string own_impls_flag(const Registry& reg) {
  std::vector<std::string> names = {"naive", "cached"};
  for (const auto& c : reg.cases())
    for (const Impl& i : c->impls())
      if (i.provider.empty() && std::find(names.begin(), names.end(), i.name) == names.end()) names.push_back(i.name);
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

}  // namespace mb
