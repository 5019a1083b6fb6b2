// Planted bugs in our device code, each of which the simulated device must catch, and the SIMT
// executor's own checks. Bugs 1-3 are mutated copies of the real sources that
// tests/sim/planted.cmake makes at configure time (namespaces mb::cuda::planted_* and
// mb::planted_tail): every such test first runs the real code on the same inputs and checks that
// it passes, then that the mutant is caught. Bugs 4-6 are written here, each beside its correct
// form. The references are plain double-precision loops written here: they share no code with
// what they judge (the Gaussian taps are computed from their formula).
//
// A fault kills the process and a sticky error poisons its context for good, so those cases run
// in death-test children (threadsafe style: a child re-executes this binary, starting a fresh
// simulated device that reads the environment the parent set around EXPECT_EXIT).
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "harness/device/cuda/cuda_check.hpp"
#include "harness/device/cuda/cuda_device.hpp"
#include "kernels/cuda/knn.hpp"
#include "kernels/cuda/ssim.hpp"
#include "knn_overrun.hpp"      // planted: the window of the last queries reads past the last point
#include "knn_stream_tail.hpp"  // planted: the chunk loop skips the last partial chunk
#include "ops/knn/stream.hpp"
#include "ops/knn/stream_cuda.hpp"
#include "ssim_nosync.hpp"  // planted: no barrier after the SSIM tile's halo load
#include "tests/sim/sim_test_support.hpp"
// Last: the simulated CUDA keywords (threadIdx, __global__, ...) are macros.
#include "kernels/cuda/launch.cuh"

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// --- plumbing over the public runtime API ---

template <class T>
using DeviceBuf = mb::simtest::DeviceArray<T>;
using mb::simtest::ScopedEnv;

// The last statement of a child: what it saw, on stderr for the parent's regex.
[[noreturn]] void report_and_exit(const std::string& seen) {
  std::fprintf(stderr, "seen: %s\n", seen.c_str());
  std::fflush(stderr);
  std::_Exit(0);
}

class DeathTestBase : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// Entries of `got` not within `tol` (relative when `relative`) of `want`; NaN never is.
template <class T>
int64_t count_off(const std::vector<T>& got, const std::vector<double>& want, double tol, bool relative,
                  std::string* first = nullptr) {
  EXPECT_EQ(got.size(), want.size());
  int64_t off = 0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    const double bound = relative ? tol * std::abs(want[i]) : tol;
    if (std::abs(static_cast<double>(got[i]) - want[i]) <= bound) continue;
    if (off++ == 0 && first != nullptr) {
      std::ostringstream s;
      s << "element " << i << ": " << got[i] << " vs " << want[i];
      *first = s.str();
    }
  }
  return off;
}

// --- SSIM: the problem and its reference ---

// Planes with partial edge tiles in both directions (tiles are 16 x 16).
struct SsimPlanes {
  int64_t planes = 2, h = 21, w = 37;
  std::vector<float> x, y;

  SsimPlanes() {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    x.resize(static_cast<size_t>(pixels()));
    y.resize(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = u(rng);
      y[i] = 0.7f * x[i] + 0.3f * u(rng);  // correlated, so the map spans a range of values
    }
  }
  int64_t pixels() const { return planes * h * w; }
};

// The 11 taps of exp(-d^2 / (2 sigma^2)), d = -5..5, sigma = 1.5, normalised to sum 1.
std::array<double, 11> gaussian_taps() {
  std::array<double, 11> g{};
  double sum = 0.0;
  for (int i = 0; i < 11; ++i) {
    const double d = i - 5;
    g[static_cast<size_t>(i)] = std::exp(-d * d / (2.0 * 1.5 * 1.5));
    sum += g[static_cast<size_t>(i)];
  }
  for (double& v : g) v /= sum;
  return g;
}

// The SSIM map: Gaussian-weighted means over the 11 x 11 window (zero outside the image),
// C1 = 0.01^2, C2 = 0.03^2, the textbook formula, in double.
std::vector<double> reference_ssim_map(const SsimPlanes& p) {
  const std::array<double, 11> g = gaussian_taps();
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  std::vector<double> map(static_cast<size_t>(p.pixels()));
  for (int64_t plane = 0; plane < p.planes; ++plane)
    for (int64_t r = 0; r < p.h; ++r)
      for (int64_t c = 0; c < p.w; ++c) {
        double mx = 0, my = 0, exx = 0, eyy = 0, exy = 0;
        for (int64_t i = 0; i < 11; ++i)
          for (int64_t j = 0; j < 11; ++j) {
            const int64_t rr = r + i - 5, cc = c + j - 5;
            if (rr < 0 || rr >= p.h || cc < 0 || cc >= p.w) continue;
            const size_t at = static_cast<size_t>((plane * p.h + rr) * p.w + cc);
            const double wgt = g[static_cast<size_t>(i)] * g[static_cast<size_t>(j)], a = p.x[at], b = p.y[at];
            mx += wgt * a;
            my += wgt * b;
            exx += wgt * a * a;
            eyy += wgt * b * b;
            exy += wgt * a * b;
          }
        const double vx = exx - mx * mx, vy = eyy - my * my, cov = exy - mx * my;
        map[static_cast<size_t>((plane * p.h + r) * p.w + c)] =
            (2 * mx * my + c1) * (2 * cov + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      }
  return map;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

using SsimFused = cudaError_t (*)(const float*, const float*, float*, float*, int64_t, int64_t, int64_t, cudaStream_t);

struct SsimResult {
  std::vector<float> map;
  float mean = kNaN;
};

// `fused` and then the real ssim_mean on the legacy stream. Uploads the first `y_floats` of y
// only (bug 6: the rest of the allocation keeps its NaN fill).
SsimResult run_ssim(SsimFused fused, const SsimPlanes& p, size_t y_floats) {
  const size_t n = static_cast<size_t>(p.pixels());
  const int64_t partial_count = mb::cuda::ssim_fused_partials(p.planes, p.h, p.w);
  DeviceBuf<float> x(p.x), y(n), map(n), partials(static_cast<size_t>(partial_count)), mean(1);
  EXPECT_EQ(cudaMemcpy(y.get(), p.y.data(), y_floats * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(fused(x.get(), y.get(), map.get(), partials.get(), p.planes, p.h, p.w, nullptr), cudaSuccess);
  EXPECT_EQ(mb::cuda::ssim_mean(partials.get(), partial_count, p.pixels(), mean.get(), nullptr), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
  return {map.download(), mean.download()[0]};
}

// fp32 moments against double: the map agrees to about 1e-6 on these data.
constexpr double kSsimTol = 2e-4;

// Bug 1: ssim_fused_k without the __syncthreads after the halo load. Threads run in a shuffled
// order between barriers, so the horizontal pass reads halo cells other threads have not loaded
// yet: the previous block's leftovers in __shared__, or zeros.
TEST(PlantedSsim, MissingBarrierAfterHaloLoadGivesAWrongMap) {
  const SsimPlanes p;
  const std::vector<double> want = reference_ssim_map(p);
  const size_t n = static_cast<size_t>(p.pixels());
  std::string first;

  const SsimResult real = run_ssim(&mb::cuda::ssim_fused, p, n);
  EXPECT_EQ(count_off(real.map, want, kSsimTol, false, &first), 0) << "the real kernel, first: " << first;
  EXPECT_NEAR(real.mean, mean_of(want), 1e-5);

  const SsimResult planted = run_ssim(&mb::cuda::planted_nosync::ssim_fused, p, n);
  const int64_t off = count_off(planted.map, want, kSsimTol, false, &first);
  EXPECT_GT(off, 0) << "the missing barrier went unnoticed";
  std::printf("planted missing barrier: %lld of %zu pixels wrong, first %s\n", static_cast<long long>(off), n,
              first.c_str());
}

// Bug 6 (short upload): the last float of y is never uploaded; the allocation's NaN fill reaches
// every pixel whose window covers it, and so the mean (ssim_value's clamp turns NaN into -1).
TEST(PlantedCopySize, UploadOneFloatShortPoisonsTheResult) {
  const SsimPlanes p;
  const std::vector<double> want = reference_ssim_map(p);
  const size_t n = static_cast<size_t>(p.pixels());

  const SsimResult whole = run_ssim(&mb::cuda::ssim_fused, p, n);
  EXPECT_EQ(count_off(whole.map, want, kSsimTol, false), 0);
  EXPECT_NEAR(whole.mean, mean_of(want), 1e-5);

  const SsimResult short_by_one = run_ssim(&mb::cuda::ssim_fused, p, n - 1);
  // The pixels within 5 of the last one (a 6 x 6 corner), the rest untouched.
  EXPECT_EQ(count_off(short_by_one.map, want, kSsimTol, false), 36);
  EXPECT_FALSE(std::abs(short_by_one.mean - mean_of(want)) <= 1e-5) << short_by_one.mean;
}

// Bug 6 (long download): asking for one float more than the allocation holds is refused at the
// call with cudaErrorInvalidValue, which is not sticky, and the host buffer is left alone.
TEST(PlantedCopySize, DownloadPastTheAllocationIsInvalidValue) {
  const std::vector<float> values = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
  DeviceBuf<float> d(values);
  std::vector<float> host(values.size() + 1, -1.0f);

  ASSERT_EQ(cudaMemcpy(host.data(), d.get(), values.size() * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(std::vector<float>(host.begin(), host.end() - 1), values);

  std::fill(host.begin(), host.end(), -1.0f);
  EXPECT_EQ(cudaMemcpy(host.data(), d.get(), host.size() * sizeof(float), cudaMemcpyDeviceToHost),
            cudaErrorInvalidValue);
  EXPECT_EQ(host, std::vector<float>(host.size(), -1.0f));
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);  // read and cleared: not sticky
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);

  // The harness's own copy turns it into a DeviceFailure (and clears the slot as well).
  mb::CudaDevice dev(0);
  EXPECT_THROW(dev.copy(host.data(), d.get(), host.size() * sizeof(float), mb::CopyKind::device_to_host),
               mb::DeviceFailure);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

// --- knn: the problem and its reference ---

std::vector<float> random_points(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> p(static_cast<size_t>(3 * n));
  for (float& v : p) v = u(rng);
  return p;
}

// Mean squared distance from each point to its 3 nearest others, by brute force in double.
std::vector<double> reference_knn(const std::vector<float>& p) {
  const size_t n = p.size() / 3;
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    double best[3] = {INFINITY, INFINITY, INFINITY};
    for (size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      double d = 0;
      for (size_t k = 0; k < 3; ++k) {
        const double t = static_cast<double>(p[3 * i + k]) - p[3 * j + k];
        d += t * t;
      }
      if (d < best[2]) {
        best[2] = d;
        if (best[2] < best[1]) std::swap(best[1], best[2]);
        if (best[1] < best[0]) std::swap(best[0], best[1]);
      }
    }
    out[i] = (best[0] + best[1] + best[2]) / 3.0;
  }
  return out;
}

// fp32 distances against double, relative.
constexpr double kKnnTol = 1e-4;

// The resident knn's device steps (sorted order: the input order, which the search is exact for).
struct KnnResident {
  int64_t n;
  DeviceBuf<float> points;
  DeviceBuf<uint32_t> order;
  DeviceBuf<float4> sorted, box_lo, box_hi;
  DeviceBuf<float> out;

  explicit KnnResident(const std::vector<float>& p)
      : n(static_cast<int64_t>(p.size() / 3)),
        points(p),
        order(static_cast<size_t>(n)),
        sorted(static_cast<size_t>(n)),
        box_lo(static_cast<size_t>(mb::knn_box_count(n))),
        box_hi(static_cast<size_t>(mb::knn_box_count(n))),
        out(static_cast<size_t>(n)) {
    std::vector<uint32_t> identity(static_cast<size_t>(n));
    for (size_t i = 0; i < identity.size(); ++i) identity[i] = static_cast<uint32_t>(i);
    order.upload(identity);
    EXPECT_EQ(
        mb::cuda::knn_gather_and_box(points.get(), order.get(), n, sorted.get(), box_lo.get(), box_hi.get(), nullptr),
        cudaSuccess);
  }
};

// The knn death test's child: the planted query, and what it saw if it did not fault.
void planted_window_query(KnnResident& k) {
  const cudaError_t launch = mb::cuda::planted_overrun::knn_query(k.sorted.get(), k.box_lo.get(), k.box_hi.get(), k.n,
                                                                  0, k.n, k.order.get(), k.out.get(), nullptr);
  const cudaError_t sync = cudaStreamSynchronize(nullptr);
  report_and_exit(std::string("no fault: launch ") + cudaGetErrorName(launch) + ", sync " + cudaGetErrorName(sync));
}

class PlantedKnnDeathTest : public DeathTestBase {};

// Bug 2: the window of query i clipped at n instead of n - 1, so query n - 3 reads sorted[n],
// one past the last point. The allocation's end sits against a guard page: the read faults.
TEST_F(PlantedKnnDeathTest, WindowReadingPastTheLastPointFaults) {
  const int64_t n = 1500;  // a partial last box
  const std::vector<float> p = random_points(n, 11);
  KnnResident k(p);
  ASSERT_EQ(
      mb::cuda::knn_query(k.sorted.get(), k.box_lo.get(), k.box_hi.get(), n, 0, n, k.order.get(), k.out.get(), nullptr),
      cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
  std::string first;
  EXPECT_EQ(count_off(k.out.download(), reference_knn(p), kKnnTol, true, &first), 0) << "the real knn, " << first;

#if defined(__SANITIZE_ADDRESS__)
  EXPECT_DEATH(planted_window_query(k), "AddressSanitizer: SEGV on unknown address(.|\n)*READ memory access");
#else
  EXPECT_EXIT(planted_window_query(k), ::testing::KilledBySignal(SIGSEGV), "");
#endif
}

template <class Streamer, class Kernels>
std::vector<float> run_chunked(mb::CudaDevice& dev, const std::vector<float>& p, size_t budget, int64_t* chunk_boxes) {
  const int64_t n = static_cast<int64_t>(p.size() / 3);
  Kernels kernels(dev.stream());
  Streamer streamer(dev, kernels, n, budget);
  *chunk_boxes = streamer.plan().chunk_boxes;
  std::vector<float> out(static_cast<size_t>(n), kNaN);
  streamer.run(p.data(), out.data());
  return out;
}

// Bug 3: ops/knn/stream.cpp's chunk loop stopping before the last partial chunk: those queries'
// results are never computed (the host copy they come from still holds zeros).
TEST(PlantedKnn, ChunkLoopSkippingTheLastPartialChunkGivesWrongResults) {
  const int64_t n = 2500;  // 3 boxes: chunks of 1024, 1024 and 452 queries
  const std::vector<float> p = random_points(n, 12);
  const std::vector<double> want = reference_knn(p);
  // One box of queries and one of tile: several chunks and tile passes.
  const size_t budget = mb::knn_stream_bytes(n, 1, 1);
  mb::CudaDevice dev(0);
  std::string first;

  int64_t chunk_boxes = 0;
  const std::vector<float> real =
      run_chunked<mb::KnnStreamer, mb::CudaKnnStreamKernels<mb::KnnStreamKernels>>(dev, p, budget, &chunk_boxes);
  ASSERT_EQ(chunk_boxes, 1);
  EXPECT_EQ(count_off(real, want, kKnnTol, true, &first), 0) << "the real chunk loop, first: " << first;

  const std::vector<float> planted =
      run_chunked<mb::planted_tail::KnnStreamer, mb::CudaKnnStreamKernels<mb::planted_tail::KnnStreamKernels>>(
          dev, p, budget, &chunk_boxes);
  // Exactly the last chunk's queries are wrong.
  EXPECT_EQ(count_off(planted, want, kKnnTol, true, &first), n - 2 * mb::kKnnBoxPoints) << "first: " << first;
}

// --- block order (bug 4) and the executor's barrier check ---

// The test kernels borrow names of kernels/cuda/launch_table.json with the same block size (256
// threads): the simulated launch refuses a kernel the table does not list. Each borrows a kernel
// that is like it about barriers, since the executor remembers by name whether a kernel's first
// launch reached one (and runs the later launches of a barrier-free kernel as plain calls).
namespace order_kernel {

// Block b continues the count block b - 1 left (planted), or computes it directly. Atomic:
// blocks may run on several host threads at once (a race, not only an order, on a GPU too).
__global__ void fill_rows_with_bias_k(float* chain, bool planted) {
  if (threadIdx.x != 0) return;
  const unsigned b = blockIdx.x;
  const float v = planted && b > 0 ? std::atomic_ref<float>(chain[b - 1]).load(std::memory_order_relaxed) + 1.0f
                                   : static_cast<float>(b) + 1.0f;
  std::atomic_ref<float>(chain[b]).store(v, std::memory_order_relaxed);
}

constexpr unsigned kBlocks = 64;

std::vector<float> launch(bool planted) {
  DeviceBuf<float> chain(kBlocks);
  EXPECT_EQ(cudaMemsetAsync(chain.get(), 0, chain.bytes(), nullptr), cudaSuccess);
  float* const c = chain.get();  // MB_LAUNCH's arguments are captured by value: no buffer copies
  MB_LAUNCH(fill_rows_with_bias_k, kBlocks, 256, nullptr, c, planted);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
  return chain.download();
}

// The answer in block order, which the correct kernel gives whatever the order.
std::vector<float> in_order() {
  std::vector<float> v(kBlocks);
  for (unsigned b = 0; b < kBlocks; ++b) v[b] = static_cast<float>(b) + 1.0f;
  return v;
}

}  // namespace order_kernel

// Bug 4, in one process: each launch draws a new block order (the seed advances per launch).
TEST(PlantedOrder, KernelDependingOnBlockOrderDiffersAcrossLaunches) {
  const std::vector<float> want = order_kernel::in_order();
  EXPECT_EQ(order_kernel::launch(false), want);
  EXPECT_EQ(order_kernel::launch(false), want);

  const std::vector<float> first = order_kernel::launch(true), second = order_kernel::launch(true);
  EXPECT_NE(first, want);
  EXPECT_NE(second, want);
  EXPECT_NE(first, second);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A child's planted launch, its chain written to `path` for the parent to compare.
void chain_to_file(const std::string& path) {
  const std::vector<float> chain = order_kernel::launch(true);
  std::ofstream out(path);
  for (float v : chain) out << v << ' ';
  out.close();  // report_and_exit's _Exit flushes nothing
  report_and_exit(out.fail() ? "not written" : "written");
}

class PlantedOrderDeathTest : public DeathTestBase {};

// Bug 4, across processes: MODEBENCH_SIM_SEED picks the block order, so two seeds give two
// different wrong answers, and a failure reproduces under its seed when the blocks run on one
// host thread (MODEBENCH_SIM_THREADS=1; on several, their timing adds). Each child writes its chain
// to a file (a child re-runs this body up to its own EXPECT_EXIT, so only the parent, after the
// loop, removes them; a file is read only after its child said it wrote it).
TEST_F(PlantedOrderDeathTest, SeedsGiveDifferentResultsAndOneSeedTheSame) {
  const std::string dir = ::testing::TempDir();
  const std::string runs[3][2] = {
      {"1", dir + "planted_order_seed1_a"}, {"2", dir + "planted_order_seed2"}, {"1", dir + "planted_order_seed1_b"}};
  for (const auto& [seed, path] : runs) {
    ScopedEnv env("MODEBENCH_SIM_SEED", seed.c_str()), one_thread("MODEBENCH_SIM_THREADS", "1");
    EXPECT_EXIT(chain_to_file(path), ::testing::ExitedWithCode(0), "seen: written") << "seed " << seed;
  }
  const std::string seed1 = read_file(runs[0][1]), seed2 = read_file(runs[1][1]), seed1_again = read_file(runs[2][1]);
  for (const auto& run : runs) std::remove(run[1].c_str());
  ASSERT_FALSE(HasFailure()) << "a child did not write its chain";
  std::ostringstream want;
  for (float v : order_kernel::in_order()) want << v << ' ';
  EXPECT_NE(seed1, want.str());
  EXPECT_NE(seed2, want.str());
  EXPECT_NE(seed1, seed2);
  EXPECT_EQ(seed1, seed1_again);
}

namespace barrier_kernel {

// Half of each block returns before the barrier when `divergent`.
__global__ void knn_bounds_total_k(float* out, bool divergent) {
  if (divergent && threadIdx.x < 128) return;
  __syncthreads();
  if (threadIdx.x == 255) out[blockIdx.x] = 1.0f;
}

cudaError_t launch(float* out, bool divergent) {
  MB_LAUNCH(knn_bounds_total_k, 2, 256, nullptr, out, divergent);
  const cudaError_t launched = cudaGetLastError();
  return launched != cudaSuccess ? launched : cudaStreamSynchronize(nullptr);
}

}  // namespace barrier_kernel

// Runs the divergent kernel; reports the synchronisation's error and a later call's.
void divergent_barrier() {
  DeviceBuf<float> out(2);
  const cudaError_t sync = barrier_kernel::launch(out.get(), true);
  void* p = nullptr;
  const cudaError_t after = cudaMalloc(&p, 4);
  report_and_exit(std::string("sync=") + cudaGetErrorName(sync) + " after=" + cudaGetErrorName(after));
}

class SimExecutorDeathTest : public DeathTestBase {};

// A __syncthreads that only some threads of a block reach hangs or misbehaves on a GPU: the
// simulated launch fails with cudaErrorLaunchFailure, sticky as on a GPU.
TEST_F(SimExecutorDeathTest, DivergentSyncthreadsFailsTheLaunchStickily) {
  DeviceBuf<float> out(2);
  ASSERT_EQ(barrier_kernel::launch(out.get(), false), cudaSuccess);
  EXPECT_EQ(out.download(), std::vector<float>(2, 1.0f));
  EXPECT_EXIT(divergent_barrier(), ::testing::ExitedWithCode(0),
              "divergent barrier(.|\n)*seen: sync=cudaErrorLaunchFailure after=cudaErrorLaunchFailure");
}

// --- missing synchronisation (bug 5) ---

// Bug 5 through the harness: CudaDevice::copy_async of a result into pinned memory is only
// enqueued; read before synchronize() the host still holds what it held before.
TEST(PlantedSync, PinnedCopyAsyncReadBeforeSynchronizeIsStale) {
  constexpr size_t kN = 300;
  std::vector<float> a(kN), b(kN, 3.0f), want(kN);
  for (size_t i = 0; i < kN; ++i) a[i] = 0.5f * static_cast<float>(i), want[i] = a[i] * b[i];
  mb::CudaDevice dev(0);
  mb::DeviceArray<float> da(dev, kN), db(dev, kN), dout(dev, kN);
  da.upload(a.data());
  db.upload(b.data());
  std::vector<float> host(kN, -7.0f);
  mb::PinnedRegion pin(dev, host.data(), kN * sizeof(float));

  // Right: synchronise, then read.
  ASSERT_EQ(mb::cuda::multiply(da.data(), db.data(), dout.data(), kN, dev.stream()), cudaSuccess);
  dev.copy_async(host.data(), dout.data(), dout.bytes(), mb::CopyKind::device_to_host);
  dev.synchronize();
  EXPECT_EQ(host, want);

  // Planted: read before synchronize().
  std::fill(host.begin(), host.end(), -7.0f);
  ASSERT_EQ(mb::cuda::multiply(da.data(), db.data(), dout.data(), kN, dev.stream()), cudaSuccess);
  dev.copy_async(host.data(), dout.data(), dout.bytes(), mb::CopyKind::device_to_host);
  const std::vector<float> read_early = host;
  dev.synchronize();
  EXPECT_EQ(read_early, std::vector<float>(kN, -7.0f)) << "the host saw the result without synchronising";
  EXPECT_EQ(host, want);
}

// Bug 5 through the runtime: a launcher's output downloaded with cudaMemcpyAsync into
// cudaMallocHost memory and read without cudaStreamSynchronize: neither the kernel nor the copy
// has run, the host still holds what it held.
TEST(PlantedSync, LauncherOutputReadBeforeStreamSynchronizeIsStale) {
  const SsimPlanes p;
  const size_t n = static_cast<size_t>(p.pixels());
  const std::vector<double> want = reference_ssim_map(p);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  float* host = nullptr;
  ASSERT_EQ(cudaMallocHost(reinterpret_cast<void**>(&host), n * sizeof(float)), cudaSuccess);
  DeviceBuf<float> x(p.x), y(p.y), map(n),
      partials(static_cast<size_t>(mb::cuda::ssim_fused_partials(p.planes, p.h, p.w)));

  for (const bool synchronise : {true, false}) {
    std::fill(host, host + n, -7.0f);
    ASSERT_EQ(mb::cuda::ssim_fused(x.get(), y.get(), map.get(), partials.get(), p.planes, p.h, p.w, stream),
              cudaSuccess);
    ASSERT_EQ(cudaMemcpyAsync(host, map.get(), n * sizeof(float), cudaMemcpyDeviceToHost, stream), cudaSuccess);
    if (synchronise) {
      ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    }
    const std::vector<float> seen(host, host + n);
    if (synchronise) {
      EXPECT_EQ(count_off(seen, want, kSsimTol, false), 0);
    } else {
      EXPECT_EQ(seen, std::vector<float>(n, -7.0f)) << "the host saw the result without synchronising";
    }
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  }
  EXPECT_EQ(count_off(std::vector<float>(host, host + n), want, kSsimTol, false), 0);
  EXPECT_EQ(cudaFreeHost(host), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

}  // namespace
