// Every op's torch impl on the CPU, validated against cpu_ref (or, for the model, against the
// float64 network) through the harness's own paths, at sizes small enough for CI; the device
// placements are unavailable here with torch's own reason.
#include <gtest/gtest.h>

#include <cstdio>

#include "harness/registry.hpp"
#include "harness/rng.hpp"
#include "harness/runner.hpp"
#include "ops/ssim/ssim.hpp"
#include "ops/torch_ops.hpp"
#include "providers/torch/torch_facts.hpp"
#include "tests/support/toy_case.hpp"

namespace mb {
namespace {

class TorchImpls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { install_torch_ops(); }
};

// As the runner does it: poisoned outputs, one call, the outputs fetched, validated.
Validation run_on_host(const OpCase& c, Problem& p, const std::string& impl = "torch") {
  p.poison_outputs();
  std::unique_ptr<Instance> inst = make_from_table(c, impl, Placement::host, p, nullptr);
  inst->run();
  inst->fetch_outputs();
  return c.validate(p, inst->precision());
}

Status prepared(const std::string& case_id, Mode mode, const std::string& impl, int64_t batch) {
  const PreparedEntry p(Entry{&registered_case(case_id), mode, impl, batch},
                        RunConfig{.seed = 7, .device = nullptr, .warmup_calls = 0});
  return p.status();
}

TEST_F(TorchImpls, LinearIsRight) {
  const OpCase& c = registered_case("linear/mobilenetv2_head");
  for (int64_t batch : {1, 5}) {
    auto p = c.make_problem(batch, 7);
    const Validation v = run_on_host(c, *p);
    EXPECT_TRUE(v.ok()) << "batch " << batch << ": max_err " << v.max_err << " tolerance " << v.tolerance;
  }
}

TEST_F(TorchImpls, Conv2dIsRightOnEveryCase) {
  for (const char* id : {"conv2d/resnet_3x3", "conv2d/mbv2_depthwise", "conv2d/mbv2_pointwise", "conv2d/mbv2_stem"}) {
    const OpCase& c = registered_case(id);
    auto p = c.make_problem(2, 7);
    const Validation v = run_on_host(c, *p);
    EXPECT_TRUE(v.ok()) << id << ": max_err " << v.max_err << " tolerance " << v.tolerance;
  }
}

// at::conv1d on XTTS's layers (dilation 1, 3, 5; kernel 1) and the validation shapes (stride 2,
// groups, depthwise, length 1).
TEST_F(TorchImpls, Conv1dIsRightOnEveryCaseAndValidationShape) {
  for (const auto& c : registry().cases()) {
    if (c->op() != "conv1d") continue;
    auto p = c->make_problem(1, 7);
    const Validation v = run_on_host(*c, *p);
    EXPECT_TRUE(v.ok()) << c->id() << ": max_err " << v.max_err << " tolerance " << v.tolerance;
  }
  for (const auto& vc : registry().validation_cases()) {
    if (vc.c->op() != "conv1d") continue;
    auto p = vc.c->make_problem(vc.shape.batches.front(), 7);
    const Validation v = run_on_host(*vc.c, *p);
    EXPECT_TRUE(v.ok()) << vc.c->id() << ": max_err " << v.max_err << " tolerance " << v.tolerance;
  }
}

// The 3DGS-style SSIM on a small image pair (the case's validation takes any shape).
TEST_F(TorchImpls, SsimIsRight) {
  SsimProblem p(ref::SsimShape{2, 3, 37, 53});
  Rng(1).fill_uniform(p.x, 0.0f, 1.0f);
  Rng noise(2);
  for (size_t i = 0; i < p.y.size(); ++i) p.y[i] = std::clamp(p.x[i] + noise.uniform(-0.05f, 0.05f), 0.0f, 1.0f);
  const Validation v = run_on_host(registered_case("ssim/nerf_800"), p);
  EXPECT_TRUE(v.ok()) << "max_err " << v.max_err << " tolerance " << v.tolerance;
}

// torch_exact is right; torch (cdist's default, the |x|^2+|y|^2-2xy form above 25 rows) loses
// near neighbours and duplicates (distance 0) to cancellation: the finding the benchmark reports.
TEST_F(TorchImpls, KnnExactIsRightAndTheDefaultCdistIsWrong) {
  for (const char* id : {"knn/uniform", "knn/clustered"}) {
    const OpCase& c = registered_case(id);
    auto p = c.make_problem(3000, 7);
    const Validation exact = run_on_host(c, *p, "torch_exact");
    EXPECT_TRUE(exact.ok()) << id << ": max_err " << exact.max_err << " tolerance " << exact.tolerance;
    const Validation as_people_run_it = run_on_host(c, *p, "torch");
    EXPECT_FALSE(as_people_run_it.ok()) << id << ": max_err " << as_people_run_it.max_err;
    std::printf("%s torch (default cdist): max_err %.3g (tolerance %.3g)\n", id, as_people_run_it.max_err,
                as_people_run_it.tolerance);
  }
}

TEST_F(TorchImpls, ModelIsRightAgainstTheFloat64Network) {
  const OpCase& c = registered_case("model/mobilenet_v2");
  auto p = c.make_problem(2, 7);
  const Validation v = run_on_host(c, *p);
  EXPECT_TRUE(v.ok()) << "max_err " << v.max_err << " tolerance " << v.tolerance;
  EXPECT_EQ(v.check, "full");
}

// Through PreparedEntry (poison, validate, warm-up) as modebench-torch runs them.
TEST_F(TorchImpls, PreparedEntriesAreOkOnTheHost) {
  EXPECT_TRUE(prepared("linear/square_1024", Mode::cpu, "torch", 3).is_ok());
  EXPECT_TRUE(prepared("conv2d/mbv2_pointwise", Mode::cpu, "torch", 1).is_ok());
  EXPECT_TRUE(prepared("knn/uniform", Mode::cpu, "torch_exact", 2000).is_ok());
  EXPECT_EQ(prepared("knn/uniform", Mode::cpu, "torch", 2000), StatusKind::wrong);
}

// No GPU here: every device placement is unavailable, in torch's words (a CPU-only wheel, no
// driver, no device), never failed.
TEST_F(TorchImpls, DevicePlacementsSayWhyTorchHasNoDevice) {
  const std::string why = torch_device_unavailable();
  if (why.empty()) GTEST_SKIP() << "torch sees a CUDA device here";
  for (auto [mode, impl] : {std::pair{Mode::gpu, "torch"},
                            {Mode::ptx_jit, "torch"},
                            {Mode::hybrid, "torch_naive"},
                            {Mode::hybrid, "torch_cached"}}) {
    const Status s = prepared("linear/square_1024", mode, impl, 1);
    EXPECT_EQ(s.kind(), StatusKind::unavailable) << impl << ": " << s.text();
    EXPECT_EQ(s.detail(), why);
  }
}

}  // namespace
}  // namespace mb
