// What of the CUDA impls can be checked without a GPU: the kernel list the
// probe reads, and that every gpu factory refuses a non-CUDA device as
// `unavailable` and an unknown impl as bad input, before touching CUDA.
#include <gtest/gtest.h>

#if MODEBENCH_HAVE_CUDA
#include <set>
#include <string>

#include "ops/conv2d/conv2d.hpp"
#include "ops/knn/knn.hpp"
#include "ops/linear/linear.hpp"
#include "ops/ssim/ssim.hpp"
#include "harness/status.hpp"
#include "tests/support/test_device.hpp"
#include "kernels/cuda/kernel_list.hpp"

namespace mb {
namespace {

TEST(CudaBuild, KernelListNamesEveryKernelOnce) {
  const auto ks = cuda::our_kernels();
  std::set<std::string> names;
  std::set<const void*> fns;
  for (const auto& k : ks) {
    ASSERT_NE(k.name, nullptr);
    EXPECT_NE(k.fn, nullptr) << k.name;
    names.insert(k.name);
    fns.insert(k.fn);
  }
  EXPECT_EQ(ks.size(), 16u);  // 2 bias + 4 ssim + 6 knn + 4 knn chunk kernels
  EXPECT_EQ(names.size(), ks.size());
  EXPECT_EQ(fns.size(), ks.size());
  EXPECT_TRUE(names.count("ssim_fused") && names.count("knn_query") && names.count("knn_chunk_scan") &&
              names.count("fill_rows_with_bias"));
}

TEST(CudaBuild, FactoriesRefuseTheTestDevice) {
  TestDevice dev;
  LinearProblem lin(ref::LinearShape{2, 3, 4});
  Conv2dProblem conv(ref::Conv2dShape{1, 2, 5, 5, 2, 3, 3, 1, 1, 1});
  SsimProblem ssim(ref::SsimShape{1, 3, 8, 8});
  KnnProblem knn(8);
  for (const char* impl : {"cublas", "cublas_tf32"}) EXPECT_THROW(make_linear_gpu(impl, lin, dev), Unavailable);
  for (const char* impl : {"cudnn", "cudnn_tf32"}) EXPECT_THROW(make_conv2d_gpu(impl, conv, dev), Unavailable);
  for (const char* impl : {"fused", "cudnn"}) EXPECT_THROW(make_ssim_gpu(impl, ssim, dev), Unavailable);
  for (const char* impl : {"exact", "chunked"}) EXPECT_THROW(make_knn_gpu(impl, knn, dev), Unavailable);
  EXPECT_EQ(dev.counters().mallocs, 0u);  // refused before allocating anything

  EXPECT_THROW(make_linear_gpu("cublas_fp16", lin, dev), BadInput);
  EXPECT_THROW(make_conv2d_gpu("winograd", conv, dev), BadInput);
  EXPECT_THROW(make_ssim_gpu("opencv", ssim, dev), BadInput);
  EXPECT_THROW(make_knn_gpu("approx", knn, dev), BadInput);
}

}  // namespace
}  // namespace mb
#endif
