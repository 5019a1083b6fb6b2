#pragma once
// model: a whole network as one op, batch = images. Its one case, mobilenet_v2, is MobileNetV2
// feature extraction (224x224 RGB -> 1280 pooled features, ops/model/mobilenet_v2.hpp), the
// workload of a field report. Only the torch provider runs it (ops/model/torch.cpp); so it has
// no impl of the harness's own and no hybrid naive/cached.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "cpu_ref/checked_size.hpp"
#include "harness/op_case.hpp"
#include "ops/model/mobilenet_v2.hpp"

namespace mb {

struct ModelProblem : Problem {
  ModelProblem(int64_t batch, uint64_t weights_seed)
      : Problem(batch),
        seed(weights_seed),
        x(static_cast<size_t>(checked_product({batch, 3, kMobilenetImage, kMobilenetImage}))),
        features(static_cast<size_t>(checked_product({batch, kMobilenetFeatures}))) {}
  std::vector<TensorRef> tensors() override {
    return {{"x", Role::input, x.data(), x.size()}, {"features", Role::output, features.data(), features.size()}};
  }
  std::unique_ptr<Problem> clone() const override { return std::make_unique<ModelProblem>(*this); }

  uint64_t seed;                   // of the network's weights (mobilenet_v2_weights)
  std::vector<float> x, features;  // [B, 3, 224, 224] in, [B, 1280] out
};

// The features of `images` of p (kMobilenetFeatures each, in that order) by the same network
// in float64 on the host. The torch provider installs it with its impls: model entries run only
// in modebench-torch, so only there is a model result validated.
using ModelReference = std::function<std::vector<double>(const ModelProblem& p, const std::vector<int64_t>& images)>;
void install_model_reference(ModelReference reference);

}  // namespace mb
