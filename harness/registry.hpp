#pragma once
// The single list of op cases. Its definition is generated from MODEBENCH_OPS
// (ops/registry.cpp.in): each ops/<op>/ folder defines register_<op>(Registry&).
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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

  // The op's case of any shape (ops/<op>/case.cpp make_<op>_case): what its validation shapes
  // and `--shape` build cases with. An op without one (model) takes no shape.
  using ShapeFactory = std::function<std::unique_ptr<OpCase>(const ShapeSpec&)>;
  void add_shape_factory(const std::string& op, ShapeFactory f) { shape_factories_[op] = std::move(f); }
  std::vector<std::string> shape_ops() const;
  // The ad-hoc case of `--shape OP:k=v,...` (docs/contract.md): parsed and normalised as the
  // policy readers normalise a shape, named by its canonical text, built once through the op's
  // factory and kept as long as the registry (entries point to it, as to the named cases).
  // BadInput with one sentence for an unknown op or key, a value that is no integer, or a
  // shape the op cannot have.
  const OpCase& adhoc_case(const std::string& text) const;
  // Every kernel of ours the device impls launch, each once (empty without CUDA).
  std::vector<KernelRef> own_kernels() const;

 private:
  std::vector<std::unique_ptr<OpCase>> cases_;
  std::vector<ValidationCase> validation_cases_;
  std::map<std::string, ShapeFactory> shape_factories_;
  // Built on demand by a const registry (registry() is one); behind a pointer, so a Registry
  // still moves.
  struct AdhocCases {
    std::mutex mutex;
    std::map<std::string, std::unique_ptr<OpCase>> by_id;
  };
  std::unique_ptr<AdhocCases> adhoc_ = std::make_unique<AdhocCases>();
};

// Every op case of MODEBENCH_OPS (defined in the ops library).
const Registry& registry();

}  // namespace mb
