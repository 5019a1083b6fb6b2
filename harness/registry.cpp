#include "harness/registry.hpp"

#include <algorithm>

namespace mb {

std::vector<std::string> Registry::ops() const {
  std::vector<std::string> out;
  for (const auto& c : cases_)
    if (std::find(out.begin(), out.end(), c->op()) == out.end()) out.push_back(c->op());
  return out;
}

}  // namespace mb
