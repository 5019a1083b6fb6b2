// What of the CUDA impls can be checked without a GPU: the kernels the device impls
// declare (the probe reads them), and that every device factory refuses a non-CUDA
// device as `unavailable` before touching CUDA.
#include <gtest/gtest.h>

#if MODEBENCH_HAVE_CUDA
#include <set>
#include <string>

#include "harness/mode.hpp"
#include "harness/registry.hpp"
#include "harness/status.hpp"
#include "tests/support/test_device.hpp"

namespace mb {
namespace {

TEST(CudaBuild, DeviceImplsDeclareTheirKernelsAndEveryKernelIsListedOnce) {
  const std::vector<KernelRef> ks = registry().own_kernels();
  std::set<std::string> names;
  std::set<const void*> fns;
  for (const auto& k : ks) {
    ASSERT_NE(k.name, nullptr);
    EXPECT_NE(k.fn, nullptr) << k.name;
    names.insert(k.name);
    fns.insert(k.fn);
  }
  EXPECT_EQ(names.size(), ks.size()) << "one name per kernel";
  EXPECT_EQ(fns.size(), ks.size());
  for (const char* k : {"ssim_fused", "knn_query", "knn_chunk_scan", "fill_rows_with_bias", "add_bias_nchw"})
    EXPECT_TRUE(names.count(k)) << k;
}

TEST(CudaBuild, DeviceFactoriesRefuseTheTestDevice) {
  TestDevice dev;
  int refused = 0;
  for (const auto& c : registry().cases())
    for (const Impl& impl : c->impls()) {
      if (impl.placement != Placement::device || !impl.provider.empty()) continue;  // a provider's: its executable
      ASSERT_TRUE(impl.make) << c->id() << " " << impl.name << " has no factory in a CUDA build";
      auto p = c->make_problem(c->batches(Profile::quick).front(), 1);
      EXPECT_THROW(impl.make(*p, &dev, RowRange{0, p->batch()}), Unavailable) << c->id() << " " << impl.name;
      ++refused;
    }
  EXPECT_GT(refused, 0);
  EXPECT_EQ(dev.counters().mallocs, 0u);  // refused before allocating anything
}

}  // namespace
}  // namespace mb
#endif
