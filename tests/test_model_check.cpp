// The model op's check without torch: which images it asks the reference for (the torch
// provider installs the real reference; here a stand-in that records the request).
#include <gtest/gtest.h>

#include <vector>

#include "harness/validate.hpp"
#include "ops/model/model.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

// The re-check of a last timed call (ScopedSampledCheck) is the sample a large batch gets,
// at every batch: the first, middle and last image, each once.
TEST(ModelCase, SampledCheckAsksForTheFirstMiddleAndLastImageOnly) {
  std::vector<int64_t> asked;
  install_model_reference([&asked](const ModelProblem&, const std::vector<int64_t>& images) {
    asked = images;
    return std::vector<double>(images.size() * kMobilenetFeatures, 0.0);
  });
  const OpCase& c = registered_case("model/mobilenet_v2");
  auto check = [&](int64_t batch) {
    auto p = c.make_problem(batch, 42);  // features 0, as the stand-in's reference
    return c.validate(*p, Precision::fp32);
  };
  EXPECT_EQ(check(2).check, "full");
  EXPECT_EQ(asked, (std::vector<int64_t>{0, 1}));
  {
    ScopedSampledCheck sampled;
    for (auto [batch, images] : {std::pair<int64_t, std::vector<int64_t>>{1, {0}}, {2, {0, 1}}, {8, {0, 4, 7}}}) {
      const Validation v = check(batch);
      EXPECT_TRUE(v.ok()) << batch;
      EXPECT_EQ(v.check, "sampled:" + std::to_string(images.size() * kMobilenetFeatures)) << batch;
      EXPECT_EQ(asked, images) << batch;
    }
  }
  install_model_reference({});
}

}  // namespace
}  // namespace mb
