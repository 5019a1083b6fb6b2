#include "harness/registry.hpp"

#include <algorithm>

namespace mb {

std::vector<std::string> Registry::ops() const {
  std::vector<std::string> out;
  for (const auto& c : cases_)
    if (std::find(out.begin(), out.end(), c->op()) == out.end()) out.push_back(c->op());
  return out;
}

std::vector<KernelRef> Registry::own_kernels() const {
  std::vector<KernelRef> out;
  for (const auto& c : cases_)
    for (const Impl& impl : c->impls()) {
      if (!impl.own_kernels) continue;
      for (const KernelRef& k : impl.own_kernels())
        if (std::none_of(out.begin(), out.end(), [&](const KernelRef& o) { return o.fn == k.fn; })) out.push_back(k);
    }
  return out;
}

}  // namespace mb
