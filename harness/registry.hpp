#pragma once
// The single list of op cases. Its definition is generated from MODEBENCH_OPS
// (ops/registry.cpp.in): each ops/<op>/ folder defines register_<op>(Registry&).
#include <memory>
#include <string>
#include <vector>

#include "harness/op_case.hpp"

namespace mb {

class Registry {
 public:
  void add(std::unique_ptr<OpCase> c) { cases_.push_back(std::move(c)); }
  const std::vector<std::unique_ptr<OpCase>>& cases() const { return cases_; }
  std::vector<std::string> ops() const;
  // Every kernel of ours the device impls launch, each once (empty without CUDA).
  std::vector<KernelRef> own_kernels() const;

 private:
  std::vector<std::unique_ptr<OpCase>> cases_;
};

// Every op case of MODEBENCH_OPS (defined in the ops library).
const Registry& registry();

}  // namespace mb
