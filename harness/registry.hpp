#pragma once
// The single list of op cases. Adding an op: one register_<op>() here.
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

 private:
  std::vector<std::unique_ptr<OpCase>> cases_;
};

const Registry& registry();

void register_linear(Registry& r);
void register_conv2d(Registry& r);
void register_ssim(Registry& r);
void register_knn(Registry& r);

}  // namespace mb
