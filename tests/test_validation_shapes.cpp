// Validation shapes (docs/ops.md, "Validation shapes"): every host impl of every op, on
// every one of its op's validation shapes and batches, through the real validation path
// (PreparedEntry: poisoned outputs, the first call validated against cpu_ref), at each of
// the thread counts the host impls' tests use. The largest error each impl makes there, as
// a fraction of its tolerance, is printed per op: docs/ops.md's tolerance table quotes it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include "harness/registry.hpp"
#include "harness/runner.hpp"
#include "include/modebench/policy.hpp"
#include "tests/support/own_impls.hpp"
#include "tests/support/thread_counts.hpp"

namespace mb {
namespace {

// Every op with a host impl of its own has validation shapes, and each names its
// dimensions as the policy readers do (the shape --shape is to take).
TEST(ValidationShapes, NameThePolicysDimensions) {
  std::map<std::string, int> per_op;
  for (const auto& v : registry().validation_cases()) {
    ++per_op[v.c->op()];
    EXPECT_NO_THROW(modebench::normalize(v.c->op(), v.shape.dims)) << v.c->id();
    EXPECT_FALSE(v.shape.batches.empty()) << v.c->id();
  }
  for (const auto& c : registry().cases()) {
    if (!c->has_own_host_impl()) continue;
    EXPECT_GT(per_op[c->op()], 0) << c->op() << " has no validation shapes";
  }
}

// Validation shapes whose result is an open finding rather than a pass (docs/ops.md,
// "Structured inputs"): ssim on the synthetic photo, where fp32's E[x^2] - mu^2 on flat
// regions (bright, or far from the kernel's shift) is off by more than the map tolerance that
// random inputs set. Validated and printed, not asserted, until ssim's metric accounts for it.
const char* open_finding(const OpCase& c, const ShapeSpec& s) {
  if (c.op() == "ssim" && s.inputs == Inputs::structured) return "ssim tolerance on flat regions";
  return nullptr;
}

struct Worst {
  double ratio = 0.0;
  std::string at;
};

TEST(ValidationShapes, EveryHostImplIsRightOnEveryValidationShapeAtEachThreadCount) {
  std::map<std::string, Worst> worst;  // by op/impl
  for (const auto& v : registry().validation_cases()) {
    const OpCase& c = *v.c;
    for (const std::string& impl : own_impl_names(c, Placement::host))
      for (int64_t batch : c.batches(Profile::quick))
        at_each_thread_count([&](int threads) {
          const PreparedEntry e(Entry{&c, Mode::cpu, impl, batch}, RunConfig{.warmup_calls = 0});
          const std::string at =
              c.id() + " " + impl + " B=" + std::to_string(batch) + " threads=" + std::to_string(threads);
          if (const char* open = open_finding(c, v.shape)) {
            std::printf("[validation shapes] open (%s): %s: %s\n", open, at.c_str(), e.message().c_str());
            return;
          }
          EXPECT_TRUE(e.status().is_ok()) << at << ": " << e.message();
          const Validation& val = e.validation();
          const double ratio = val.finite ? val.max_err / val.tolerance : 1e30;
          Worst& w = worst[c.op() + "/" + impl];
          if (ratio >= w.ratio) w = {ratio, at};
        });
  }
  for (const auto& [impl, w] : worst)
    std::printf("[validation shapes] %-22s max_err/tolerance %.3g (%s)\n", impl.c_str(), w.ratio, w.at.c_str());
}

}  // namespace
}  // namespace mb
