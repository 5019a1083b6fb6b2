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
  // Each op's validation shapes and their cases (docs/ops.md, "Validation shapes"): never
  // listed or swept; every host impl is validated on them (tests/test_validation_shapes.cpp).
  struct ValidationCase {
    ShapeSpec shape;
    std::unique_ptr<OpCase> c;
  };
  void add_validation(const ShapeSpec& shape, std::unique_ptr<OpCase> c) {
    validation_cases_.push_back({shape, std::move(c)});
  }
  const std::vector<ValidationCase>& validation_cases() const { return validation_cases_; }
  std::vector<std::string> ops() const;
  // Every kernel of ours the device impls launch, each once (empty without CUDA).
  std::vector<KernelRef> own_kernels() const;

 private:
  std::vector<std::unique_ptr<OpCase>> cases_;
  std::vector<ValidationCase> validation_cases_;
};

// Every op case of MODEBENCH_OPS (defined in the ops library).
const Registry& registry();

}  // namespace mb
