// The device and hybrid impls on every validation shape (docs/ops.md, "Validation shapes"), on
// the simulated device: our CUDA kernels, the cuBLAS and cuDNN calls and the hybrid mode's copies
// and host impls, each entry through the runner's validation (poisoned outputs, the first call
// against cpu_ref/), then one more call and the last-call check. ctest -L sim (sim_validation).
//
// And a planted device bug only these shapes catch: the fused SSIM kernel's grid rounded down
// in width (w / 16 tiles, not (w + 15) / 16), a mutated copy of kernels/cuda/ssim.cu
// (tests/sim/planted.cmake). The cases' widths (800, 1600, 1920) are multiples of 16: the last
// partial column of tiles is never launched, its map stays NaN, only an odd width shows it.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "harness/registry.hpp"
#include "harness/runner.hpp"
#include "kernels/cuda/ssim.hpp"
#include "ops/ssim/ssim.hpp"
#include "ssim_grid_floor.hpp"  // planted: the fused kernel's grid rounded down in width
#include "tests/sim/sim_test_support.hpp"

namespace mb {
namespace {

// The case's own impls in `mode` (a provider's, torch's, do not run on the simulated device).
std::vector<std::string> own_impls(const OpCase& c, Mode mode, Placement where) {
  std::vector<std::string> out;
  for (const std::string& name : impls_for(c, mode)) {
    const Impl* i = c.find_impl(name, where);
    if (i == nullptr || i->provider.empty()) out.push_back(name);
  }
  return out;
}

TEST(SimValidationShapes, EveryDeviceAndHybridImplIsRightOnEveryValidationShape) {
  int entries = 0;
  for (const auto& v : registry().validation_cases()) {
    const OpCase& c = *v.c;
    for (const auto& [mode, where] :
         {std::pair{Mode::gpu, Placement::device}, std::pair{Mode::hybrid, Placement::hybrid}})
      for (const std::string& impl : own_impls(c, mode, where))
        for (int64_t batch : c.batches(Profile::quick)) {
          PreparedEntry e(Entry{&c, mode, impl, batch}, RunConfig{});
          const std::string at = Entry{&c, mode, impl, batch}.name();
          const Validation& val = e.validation();
          std::printf("[sim validation] %-64s %s (max_err/tolerance %.3g)\n", at.c_str(), e.message().c_str(),
                      val.tolerance > 0 ? val.max_err / val.tolerance : 0.0);
          ++entries;
          if (!e.status().is_ok()) {
            ADD_FAILURE() << at << ": " << e.message();
            continue;
          }
          EXPECT_GE(e.timed_call_ms(), 0.0) << at << ": " << e.message();
          EXPECT_TRUE(e.check_last_call()) << at << ": " << e.message();
        }
  }
  EXPECT_GT(entries, 0);
}

// Our fused SSIM kernel (real or planted) on the problem's inputs, the outputs downloaded into
// it; then the case's own validation. A launch the kernel refuses is not ok either (the entry
// would be `failed`).
template <class Fused, class Mean>
Validation fused_ssim_validated(const OpCase& c, SsimProblem& p, Fused fused, Mean mean) {
  using simtest::DeviceArray;
  const auto& s = p.shape;
  DeviceArray<float> x(p.x), y(p.y), map(p.map.size()), m(1),
      partials(static_cast<size_t>(cuda::ssim_fused_partials(s.planes(), s.height, s.width)));
  p.poison_outputs();
  map.upload(p.map);  // NaN: a pixel never written cannot validate
  m.upload(p.mean);
  if (fused(x.get(), y.get(), map.get(), partials.get(), s.planes(), s.height, s.width, nullptr) != cudaSuccess)
    return Validation{.max_err = 0.0, .tolerance = c.tolerance(Precision::fp32), .finite = false, .check = "launch"};
  EXPECT_EQ(mean(partials.get(), static_cast<int64_t>(partials.size()), s.pixels(), m.get(), nullptr), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  p.map = map.download();
  p.mean = m.download();
  return c.validate(p, Precision::fp32);
}

TEST(SimValidationShapes, FusedSsimGridRoundedDownIsCaughtOnlyByOddWidths) {
  // Widths like the cases' (multiples of 16) hide it; every validation shape of a width that is
  // not a multiple of 16 catches it.
  const ShapeSpec like_cases{"w64", {{"height", 21}, {"width", 64}}, {1}};
  std::vector<std::pair<std::unique_ptr<OpCase>, const OpCase*>> cases;
  cases.emplace_back(make_ssim_case(like_cases), nullptr);
  for (const auto& v : registry().validation_cases())
    if (v.c->op() == "ssim") cases.emplace_back(nullptr, v.c.get());
  int caught = 0;
  for (auto& [owned, borrowed] : cases) {
    const OpCase& c = owned ? *owned : *borrowed;
    const auto prob = c.make_problem(c.batches(Profile::quick).front(), RunConfig{}.seed);
    auto& p = static_cast<SsimProblem&>(*prob);
    const bool reaches = p.shape.width % 16 != 0;
    const Validation real = fused_ssim_validated(c, p, cuda::ssim_fused, cuda::ssim_mean);
    EXPECT_TRUE(real.ok()) << c.id() << ": the real kernel, max_err " << real.max_err;
    const Validation bug =
        fused_ssim_validated(c, p, cuda::planted_grid_floor::ssim_fused, cuda::planted_grid_floor::ssim_mean);
    std::printf("[planted] %-24s bug:ssim_cuda_grid_floor %s (max_err %.2e, finite %d)\n", c.id().c_str(),
                bug.ok() ? "ok" : "wrong", bug.max_err, bug.finite);
    EXPECT_EQ(bug.ok(), !reaches) << c.id();
    caught += !bug.ok();
  }
  EXPECT_GE(caught, 8);
}

}  // namespace
}  // namespace mb
