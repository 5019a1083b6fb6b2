// The model's tolerances (ops/model/case.cpp): what correct fp32 executions of MobileNetV2 reach
// against the float64 network, and what TF32 convolutions (torch's cuDNN default on CC >= 8.0)
// reach. MODEBENCH_MEASURE_ERRORS=1 prints the measurements.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "harness/registry.hpp"
#include "ops/model/model.hpp"
#include "ops/model/torch.hpp"
#include "tests/support/host_variants.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

constexpr uint64_t kSeed = 42;

// The case's metric: per image, max |got - ref| over max |ref|.
double model_error(const at::Tensor& got, const at::Tensor& ref) {
  const at::Tensor scale = ref.abs().amax(1);
  return ((got.to(at::kDouble) - ref).abs().amax(1) / scale).max().item<double>();
}

// Restores torch's process-wide settings a measurement changes.
struct TorchSettings {
  int threads = at::get_num_threads();
  bool mkldnn = at::globalContext().userEnabledMkldnn();
  ~TorchSettings() {
    at::set_num_threads(threads);
    at::globalContext().setUserEnabledMkldnn(mkldnn);
  }
};

TEST(TorchModel, Fp32ExecutionsPassWithRoomAndTf32IsRejected) {
  const OpCase& c = registered_case("model/mobilenet_v2");
  const double fp32 = c.tolerance(Precision::fp32), tf32 = c.tolerance(Precision::tf32);
  auto p = c.make_problem(measuring_errors() ? 8 : 2, kSeed);
  const at::Tensor x = at::from_blob(static_cast<ModelProblem&>(*p).x.data(),
                                     {p->batch(), 3, kMobilenetImage, kMobilenetImage}, at::kFloat);
  const at::Tensor ref = mobilenet_v2_features(kSeed, x.to(at::kDouble));

  // Correct fp32 executions: oneDNN's convolutions and torch's native ones, 2 threads and 1.
  const TorchSettings restore;
  double worst = 0.0;
  for (bool mkldnn : {true, false})
    for (int threads : {2, 1}) {
      at::globalContext().setUserEnabledMkldnn(mkldnn);
      at::set_num_threads(threads);
      const double err = model_error(mobilenet_v2_features(kSeed, x), ref);
      worst = std::max(worst, err);
      if (measuring_errors()) std::printf("fp32 mkldnn=%d threads=%d: %.3g\n", mkldnn, threads, err);
    }
  const double tf32_err = model_error(mobilenet_v2_features(kSeed, x, /*emulate_tf32=*/true), ref);
  if (measuring_errors()) std::printf("tf32 (truncated, emulated): %.3g\n", tf32_err);

  EXPECT_LE(worst * 5.0, fp32) << "fp32 executions need 5x room: " << worst;
  EXPECT_GE(tf32_err, 10.0 * fp32) << "TF32 must fail the fp32 tolerance by 10x";
  EXPECT_LE(tf32_err * 3.0, tf32) << "TF32 needs 3x room in its tolerance: " << tf32_err;
}

// Features are what the network computes, not noise: away from 0 and from ReLU6's ceiling,
// different per image (a bug that zeroes a block or mixes images shows).
TEST(TorchModel, FeaturesAreInformative) {
  const OpCase& c = registered_case("model/mobilenet_v2");
  auto p = c.make_problem(2, kSeed);
  const at::Tensor x =
      at::from_blob(static_cast<ModelProblem&>(*p).x.data(), {2, 3, kMobilenetImage, kMobilenetImage}, at::kFloat);
  const at::Tensor f = mobilenet_v2_features(kSeed, x);
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{2, kMobilenetFeatures}));
  const double nonzero = (f > 1e-3).to(at::kDouble).mean().item<double>();
  EXPECT_GT(nonzero, 0.2);
  EXPECT_LT(f.max().item<double>(), 6.0);
  EXPECT_GT((f[0] - f[1]).abs().max().item<double>(), 1e-3);
}

TEST(TorchModel, FlopsFromTheLayers) {
  // torchvision's MobileNetV2 features: 299.5 M multiply-adds per 224x224 image.
  EXPECT_NEAR(mobilenet_v2_flops_per_image() / 2e6, 299.5, 1.0);
  EXPECT_EQ(mobilenet_v2_blocks().size(), 19u);  // stem, 17 inverted residuals, head
}

}  // namespace
}  // namespace mb
