#include "harness/registry.hpp"

#include <algorithm>

namespace mb {

std::vector<std::string> Registry::ops() const {
  std::vector<std::string> out;
  for (const auto& c : cases_)
    if (std::find(out.begin(), out.end(), c->op()) == out.end()) out.push_back(c->op());
  return out;
}

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    register_linear(reg);
    register_conv2d(reg);
    register_ssim(reg);
    register_knn(reg);
    return reg;
  }();
  return r;
}

}  // namespace mb
