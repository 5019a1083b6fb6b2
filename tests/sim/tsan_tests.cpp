// The ThreadSanitizer job (ctest -L tsan: a MODEBENCH_SANITIZE=thread, MODEBENCH_CUDA=SIM build).
// Every kernel of kernels/cuda/ launched at small odd shapes on the simulated device, whose CUDA
// threads are OS threads under TSan (sim/simt.cpp), and our OpenMP host kernels of kernels/cpu/
// at OMP_NUM_THREADS=3, each result checked against cpu_ref/ or a closed form. A TSan report
// anywhere fails the run (TSan's exit code 66). The checks here are loose (kLoose): the ops'
// documented tolerances are enforced by the unit tests and sim_sweep; here a wrong result is what
// a race did. Two planted races show that the job can fail, each in a death-test child that must
// die of TSan's report: ssim_fused_k without the barrier after its halo load
// (tests/sim/planted.cmake) and the host SSIM kernel with every strip on thread 0's scratch
// (tests/sim/tsan.cmake). Every such test first runs the real code on the same inputs.
#include <cuda_runtime.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cpu_ref/conv2d.hpp"
#include "cpu_ref/knn.hpp"
#include "cpu_ref/ssim.hpp"
#include "harness/device/cuda/cuda_device.hpp"
#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/knn.hpp"
#include "kernels/cpu/ssim.hpp"
#include "kernels/cuda/bias.hpp"
#include "kernels/cuda/knn.hpp"
#include "kernels/cuda/ssim.hpp"
#include "ops/knn/stream.hpp"
#include "ops/knn/stream_cuda.hpp"
#include "ssim_cpu_shared_scratch.hpp"  // planted: every strip of the host SSIM on thread 0's scratch
#include "ssim_nosync.hpp"              // planted: no barrier after the SSIM tile's halo load
#include "tests/sim/sim_test_support.hpp"
#include "tests/support/simd_targets.hpp"
// Last: the simulated CUDA keywords (threadIdx, __global__, ...) are macros.
#include "kernels/cuda/launch.cuh"

// TSan's options before TSAN_OPTIONS': the job's suppressions (tests/sim/tsan_suppressions.txt).
extern "C" const char* __tsan_default_options() { return "suppressions=" MB_TSAN_SUPPRESSIONS; }

namespace {

using mb::simtest::DeviceArray;
using mb::simtest::ScopedEnv;

constexpr double kLoose = 1e-4;

std::vector<float> uniform(size_t n, uint32_t seed, float lo = 0.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// The largest |got - want|, relative to max(1, |want|).
template <class T>
double max_err(const std::vector<T>& got, const std::vector<double>& want) {
  EXPECT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    const double e = std::abs(static_cast<double>(got[i]) - want[i]) / std::max(1.0, std::abs(want[i]));
    worst = std::isnan(e) ? INFINITY : std::max(worst, e);
  }
  return worst;
}

void sync() { ASSERT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess); }

// --- SSIM: 3 planes of 21 x 37 (partial 16 x 16 tiles both ways) ---

struct SsimImages {
  mb::ref::SsimShape shape;
  std::vector<float> x, y;
  std::vector<double> map;
  double mean;

  explicit SsimImages(mb::ref::SsimShape s = {1, 3, 21, 37})
      : shape(s), x(uniform(n(), 1)), y(uniform(n(), 2)), map(n()) {
    for (size_t i = 0; i < x.size(); ++i) y[i] = 0.7f * x[i] + 0.3f * y[i];  // correlated
    mean = mb::ref::ssim(x.data(), y.data(), shape, map.data());
  }
  size_t n() const { return static_cast<size_t>(shape.pixels()); }
};

using SsimFusedFn = cudaError_t (*)(const float*, const float*, float*, float*, int64_t, int64_t, int64_t,
                                    cudaStream_t);

// `fused` and the real ssim_mean; returns the map and the mean.
std::pair<std::vector<float>, float> device_ssim(SsimFusedFn fused, const SsimImages& im) {
  const int64_t planes = im.shape.planes(), h = im.shape.height, w = im.shape.width;
  const int64_t partial_count = mb::cuda::ssim_fused_partials(planes, h, w);
  DeviceArray<float> x(im.x), y(im.y), map(im.n()), partials(static_cast<size_t>(partial_count)), mean(1);
  EXPECT_EQ(fused(x.get(), y.get(), map.get(), partials.get(), planes, h, w, nullptr), cudaSuccess);
  EXPECT_EQ(mb::cuda::ssim_mean(partials.get(), partial_count, im.n(), mean.get(), nullptr), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
  return {map.download(), mean.download()[0]};
}

TEST(TsanDevice, SsimFusedAndMean) {
  const SsimImages im;
  const auto [map, mean] = device_ssim(&mb::cuda::ssim_fused, im);
  EXPECT_LE(max_err(map, im.map), kLoose);
  EXPECT_NEAR(mean, im.mean, kLoose);
}

// Moments of two images that are constant over each window (pixel values a, b): no variance, so
// SSIM = (2ab + C1) / (a^2 + b^2 + C1).
TEST(TsanDevice, SsimMapFromMomentsAndMean) {
  const size_t n = 1001;
  const std::vector<float> a = uniform(n, 3), b = uniform(n, 4);
  std::vector<float> aa(n), bb(n), ab(n);
  std::vector<double> want(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    aa[i] = a[i] * a[i], bb[i] = b[i] * b[i], ab[i] = a[i] * b[i];
    want[i] = (2.0 * a[i] * b[i] + 1e-4) / (static_cast<double>(a[i]) * a[i] + static_cast<double>(b[i]) * b[i] + 1e-4);
    sum += want[i];
  }
  const int64_t count = mb::cuda::ssim_map_partials(static_cast<int64_t>(n));
  DeviceArray<float> mx(a), my(b), exx(aa), eyy(bb), exy(ab), map(n), partials(static_cast<size_t>(count)), mean(1);
  ASSERT_EQ(mb::cuda::ssim_map_from_moments(mx.get(), my.get(), exx.get(), eyy.get(), exy.get(), map.get(),
                                            partials.get(), static_cast<int64_t>(n), nullptr),
            cudaSuccess);
  ASSERT_EQ(mb::cuda::ssim_mean(partials.get(), count, static_cast<int64_t>(n), mean.get(), nullptr), cudaSuccess);
  sync();
  EXPECT_LE(max_err(map.download(), want), kLoose);
  EXPECT_NEAR(mean.download()[0], sum / static_cast<double>(n), kLoose);
}

TEST(TsanDevice, Multiply) {
  const size_t n = 301;
  const std::vector<float> a = uniform(n, 5), b = uniform(n, 6);
  std::vector<double> want(n);
  for (size_t i = 0; i < n; ++i) want[i] = static_cast<double>(a[i]) * b[i];
  DeviceArray<float> da(a), db(b), out(n);
  ASSERT_EQ(mb::cuda::multiply(da.get(), db.get(), out.get(), static_cast<int64_t>(n), nullptr), cudaSuccess);
  sync();
  EXPECT_LE(max_err(out.download(), want), 1e-6);
}

TEST(TsanDevice, BiasKernels) {
  const int64_t rows = 7, cols = 45, n = 2, k = 3, plane = 29;
  const std::vector<float> b = uniform(static_cast<size_t>(cols), 7),
                           y0 = uniform(static_cast<size_t>(n * k * plane), 8);
  DeviceArray<float> db(b), rows_out(static_cast<size_t>(rows * cols)), y(y0);
  ASSERT_EQ(mb::cuda::fill_rows_with_bias(rows_out.get(), db.get(), rows, cols, nullptr), cudaSuccess);
  ASSERT_EQ(mb::cuda::add_bias_nchw(y.get(), db.get(), n, k, plane, nullptr), cudaSuccess);
  sync();
  std::vector<double> want_rows(static_cast<size_t>(rows * cols)), want_y(y0.size());
  for (size_t i = 0; i < want_rows.size(); ++i) want_rows[i] = b[i % static_cast<size_t>(cols)];
  for (size_t i = 0; i < want_y.size(); ++i)
    want_y[i] = static_cast<double>(y0[i]) + b[i / static_cast<size_t>(plane) % static_cast<size_t>(k)];
  EXPECT_EQ(max_err(rows_out.download(), want_rows), 0.0);
  EXPECT_LE(max_err(y.download(), want_y), 1e-6);
}

// --- knn: 1500 points (a partial last box of 1024) ---

std::vector<double> reference_knn(const std::vector<float>& p) {
  std::vector<double> want(p.size() / 3);
  mb::ref::knn(p.data(), static_cast<int64_t>(want.size()), want.data());
  return want;
}

// The resident pipeline of ops/knn/gpu.cpp's exact variant: bounds, Morton codes, sort, gather
// and boxes, query.
TEST(TsanDevice, KnnExactPipeline) {
  const int64_t n = 1500;
  const size_t un = static_cast<size_t>(n);
  const std::vector<float> p = uniform(3 * un, 9, -1.0f, 1.0f);
  size_t temp_bytes = 0;
  ASSERT_EQ(mb::cuda::knn_sort_temp_bytes(n, &temp_bytes), cudaSuccess);
  const size_t boxes = static_cast<size_t>(mb::knn_box_count(n));
  DeviceArray<float> points(p), bounds(mb::cuda::kKnnBoundFloats), out(un);
  DeviceArray<uint32_t> codes_in(un), codes_out(un), index(un), order(un);
  DeviceArray<unsigned char> temp(std::max<size_t>(1, temp_bytes));
  DeviceArray<float4> sorted(un), box_lo(boxes), box_hi(boxes);
  ASSERT_EQ(mb::cuda::knn_bounds(points.get(), n, bounds.get(), nullptr), cudaSuccess);
  ASSERT_EQ(mb::cuda::knn_morton(points.get(), n, bounds.get(), codes_in.get(), index.get(), nullptr), cudaSuccess);
  ASSERT_EQ(
      mb::cuda::knn_sort(temp.get(), temp_bytes, codes_in.get(), codes_out.get(), index.get(), order.get(), n, nullptr),
      cudaSuccess);
  ASSERT_EQ(
      mb::cuda::knn_gather_and_box(points.get(), order.get(), n, sorted.get(), box_lo.get(), box_hi.get(), nullptr),
      cudaSuccess);
  ASSERT_EQ(mb::cuda::knn_query(sorted.get(), box_lo.get(), box_hi.get(), n, 0, n, order.get(), out.get(), nullptr),
            cudaSuccess);
  sync();
  EXPECT_LE(max_err(out.download(), reference_knn(p)), kLoose);
}

// The chunked variant's kernels (init, mark, scan, finish) through the real KnnStreamer: one box
// of queries and one of tile, so several chunks and tile passes.
TEST(TsanDevice, KnnChunkKernels) {
  const int64_t n = 2500;
  const std::vector<float> p = uniform(3 * static_cast<size_t>(n), 10, -1.0f, 1.0f);
  mb::CudaDevice dev(0);
  mb::CudaKnnStreamKernels<mb::KnnStreamKernels> kernels(dev.stream());
  mb::KnnStreamer streamer(dev, kernels, n, mb::knn_stream_bytes(n, 1, 1));
  std::vector<float> out(static_cast<size_t>(n), NAN);
  streamer.run(p.data(), out.data());
  EXPECT_LE(max_err(out, reference_knn(p)), kLoose);
}

// --- our OpenMP host kernels, at OMP_NUM_THREADS=3 (ctest sets it) ---

TEST(TsanHost, RunsOnThreeThreads) { EXPECT_EQ(omp_get_max_threads(), 3); }

TEST(TsanHost, SsimFusedOnEverySimdTarget) {
  const SsimImages im;
  mb::at_each_simd_target([&](const std::string&) {
    mb::cpu::SsimFused k(im.shape.height, im.shape.width, 16);  // several column tiles
    std::vector<float> map(im.n());
    const double mean = k.run(im.x.data(), im.y.data(), map.data(), im.shape.planes());
    EXPECT_LE(max_err(map, im.map), kLoose);
    EXPECT_NEAR(mean, im.mean, kLoose);
  });
}

TEST(TsanHost, KnnGrid) {
  const int64_t n = 3001;
  const std::vector<float> p = uniform(3 * static_cast<size_t>(n), 11, -1.0f, 1.0f);
  std::vector<float> out(static_cast<size_t>(n));
  mb::cpu::KnnGrid grid;
  grid.run(p.data(), n, out.data());
  EXPECT_LE(max_err(out, reference_knn(p)), kLoose);
}

std::vector<double> reference_conv(const mb::cpu::Conv2dShape& s, const std::vector<float>& x,
                                   const std::vector<float>& w, const std::vector<float>& b) {
  const mb::ref::Conv2dShape r{s.N, s.C, s.H, s.W, s.K, s.R, s.S, s.stride, s.pad, s.groups};
  std::vector<double> y(static_cast<size_t>(r.output_size()));
  mb::ref::conv2d(x.data(), w.data(), b.data(), r, y.data());
  return y;
}

TEST(TsanHost, Im2colConv2d) {
  for (const mb::cpu::Conv2dShape& s :
       {mb::cpu::Conv2dShape{2, 3, 13, 11, 5, 3, 3, 1, 1, 1}, mb::cpu::Conv2dShape{1, 4, 15, 9, 3, 3, 3, 2, 0, 1},
        mb::cpu::Conv2dShape{2, 5, 7, 9, 3, 1, 1, 1, 0, 1}}) {
    const std::vector<float> x = uniform(static_cast<size_t>(s.N * s.C * s.H * s.W), 12, -1.0f, 1.0f),
                             w = uniform(static_cast<size_t>(s.K * s.Cg() * s.R * s.S), 13, -1.0f, 1.0f),
                             b = uniform(static_cast<size_t>(s.K), 14, -1.0f, 1.0f);
    std::vector<float> y(static_cast<size_t>(s.N * s.K * s.P() * s.Q()));
    mb::cpu::Im2colConv2d conv(s);
    conv.run(x.data(), w.data(), b.data(), y.data());
    EXPECT_LE(max_err(y, reference_conv(s, x, w, b)), kLoose);
  }
}

TEST(TsanHost, DepthwiseConv2d) {
  const mb::cpu::Conv2dShape s{2, 6, 17, 13, 6, 3, 3, 1, 1, 6};
  const std::vector<float> x = uniform(static_cast<size_t>(s.N * s.C * s.H * s.W), 15, -1.0f, 1.0f),
                           w = uniform(static_cast<size_t>(s.K * s.R * s.S), 16, -1.0f, 1.0f),
                           b = uniform(static_cast<size_t>(s.K), 17, -1.0f, 1.0f);
  std::vector<float> y(static_cast<size_t>(s.N * s.K * s.P() * s.Q()));
  mb::cpu::conv2d_depthwise(x.data(), w.data(), b.data(), y.data(), s);
  EXPECT_LE(max_err(y, reference_conv(s, x, w, b)), kLoose);
}

// --- the OS-thread executor's own checks: a divergent barrier or a bad shuffle mask fails the
// launch, stickily, as with fibers (the kernels borrow names of launch_table.json with 256 threads,
// since the simulated launch refuses a kernel the table does not list) ---

namespace executor_checks {

// Half of each block returns before the barrier.
__global__ void knn_bounds_total_k(float* out) {
  if (threadIdx.x < 128) return;
  __syncthreads();
  if (threadIdx.x == 255) out[blockIdx.x] = 1.0f;
}

// A shuffle whose mask leaves out half the warp.
__global__ void ssim_map_k(float* out) {
  const float v = __shfl_down_sync(0x0000ffffu, 1.0f, 1);
  if (threadIdx.x == 0) out[blockIdx.x] = v;
}

// Launches one of them, synchronises, then tries an allocation: what each returned, on stderr.
[[noreturn]] void launch_and_report(bool barrier) {
  DeviceArray<float> out(2);
  float* const o = out.get();
  if (barrier)
    MB_LAUNCH(knn_bounds_total_k, 2, 256, nullptr, o);
  else
    MB_LAUNCH(ssim_map_k, 2, 256, nullptr, o);
  const cudaError_t sync = cudaStreamSynchronize(nullptr);
  void* p = nullptr;
  const cudaError_t after = cudaMalloc(&p, 4);
  std::fprintf(stderr, "seen: sync=%s after=%s\n", cudaGetErrorName(sync), cudaGetErrorName(after));
  std::fflush(stderr);
  std::_Exit(0);
}

}  // namespace executor_checks

class TsanExecutorDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(TsanExecutorDeathTest, DivergentSyncthreadsFailsTheLaunchStickily) {
  EXPECT_EXIT(executor_checks::launch_and_report(true), ::testing::ExitedWithCode(0),
              "divergent barrier(.|\n)*seen: sync=cudaErrorLaunchFailure after=cudaErrorLaunchFailure");
}

TEST_F(TsanExecutorDeathTest, PartialShuffleMaskFailsTheLaunchStickily) {
  EXPECT_EXIT(executor_checks::launch_and_report(false), ::testing::ExitedWithCode(0),
              "shuffle mask(.|\n)*seen: sync=cudaErrorLaunchFailure after=cudaErrorLaunchFailure");
}

// --- the planted races: TSan must report each (the child halts at the first report) ---

class TsanPlantedDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
  // Any TSAN_OPTIONS given, halting at the first report with exit code 66.
  static std::string halting_options() {
    const char* given = std::getenv("TSAN_OPTIONS");
    return std::string(given ? given : "") + " halt_on_error=1 exitcode=66";
  }
};

[[noreturn]] void child_done() {
  std::fprintf(stderr, "seen: no report\n");
  std::fflush(stderr);
  std::_Exit(0);
}

TEST_F(TsanPlantedDeathTest, SsimKernelWithoutTheHaloBarrierIsReported) {
  const SsimImages im;
  EXPECT_LE(max_err(device_ssim(&mb::cuda::ssim_fused, im).first, im.map), kLoose) << "the real kernel";
  ScopedEnv options("TSAN_OPTIONS", halting_options().c_str());
  EXPECT_EXIT(
      {
        device_ssim(&mb::cuda::planted_nosync::ssim_fused, im);
        child_done();
      },
      ::testing::ExitedWithCode(66), "ThreadSanitizer: data race(.|\n)*planted_nosync(.|\n)*ssim_fused_k");
}

TEST_F(TsanPlantedDeathTest, HostSsimSharingOneScratchIsReported) {
  const SsimImages im({1, 3, 384, 80});  // enough strips that every thread takes some
  std::vector<float> map(im.n());
  mb::cpu::SsimFused real(im.shape.height, im.shape.width, 16);
  EXPECT_NEAR(real.run(im.x.data(), im.y.data(), map.data(), im.shape.planes()), im.mean, kLoose) << "the real kernel";
  ScopedEnv options("TSAN_OPTIONS", halting_options().c_str());
  EXPECT_EXIT(
      {
        mb::cpu::planted_scratch::SsimFused planted(im.shape.height, im.shape.width, 16);
        planted.run(im.x.data(), im.y.data(), map.data(), im.shape.planes());
        child_done();
      },
      ::testing::ExitedWithCode(66), "ThreadSanitizer: data race(.|\n)*planted_scratch::SsimFused");
}

}  // namespace
