// knn on the GPU (simple-knn's distCUDA2, exact). "exact" keeps the whole
// problem resident and builds the Morton index on the device; "chunked" is the
// memory-capped variant of harness/knn_stream.hpp: any cloud completes as long
// as its box bounds (33 bytes per 1024 points) and one chunk and tile fit.
#include <algorithm>
#include <chrono>
#include <climits>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "harness/device/cuda/cuda_check.hpp"
#include "harness/device/cuda/cuda_device.hpp"
#include "harness/status.hpp"
#include "kernels/cuda/knn.hpp"
#include "ops/knn/knn.hpp"
#include "ops/knn/stream.hpp"
#include "ops/knn/stream_cuda.hpp"

namespace mb {
namespace {

constexpr size_t kAlign = 256;
size_t aligned(size_t b) { return (b + kAlign - 1) / kAlign * kAlign; }

int64_t checked_n(const KnnProblem& p) {
  if (p.n < 4) throw BadInput("knn needs at least 4 points, got " + std::to_string(p.n));
  if (p.n > INT_MAX) throw BadInput("knn gpu impls take at most 2^31-1 points, got " + std::to_string(p.n));
  return p.n;
}

// Scratch of the build: raw points, codes in and out, identity index, radix-sort temp.
struct BuildLayout {
  size_t raw, codes_in, codes_out, index, temp, total;
  BuildLayout(int64_t n, size_t temp_bytes) {
    const size_t un = static_cast<size_t>(n);
    raw = 0;
    codes_in = raw + aligned(3 * un * sizeof(float));
    codes_out = codes_in + aligned(un * sizeof(uint32_t));
    index = codes_out + aligned(un * sizeof(uint32_t));
    temp = index + aligned(un * sizeof(uint32_t));
    total = temp + aligned(temp_bytes);
  }
};

size_t sort_temp_bytes(int64_t n) {
  size_t b = 0;
  check_cuda(cuda::knn_sort_temp_bytes(n, &b), "cub radix sort size");
  return b;
}

// Everything resident: raw points and sort scratch in one arena, then the sorted cloud, boxes and result.
class KnnExactGpu : public Instance {
 public:
  KnnExactGpu(KnnProblem& p, CudaDevice& dev) : p_(p), dev_(dev), n_(checked_n(p)), layout_(n_, sort_temp_bytes(n_)) {
    const size_t un = static_cast<size_t>(n_), boxes = static_cast<size_t>(knn_box_count(n_));
    arena_ = DeviceArray<unsigned char>(dev, layout_.total);
    out_ = DeviceArray<float>(dev, un);
    sorted_ = DeviceArray<float4>(dev, un);
    order_ = DeviceArray<uint32_t>(dev, un);
    box_lo_ = DeviceArray<float4>(dev, boxes);
    box_hi_ = DeviceArray<float4>(dev, boxes);
    bounds_ = DeviceArray<float>(dev, cuda::kKnnBoundFloats);
    check_cuda(cudaMemsetAsync(out_.data(), 0xFF, out_.bytes(), dev.stream()), "cudaMemsetAsync(out)");
    dev.copy(raw(), p.points.data(), 3 * un * sizeof(float), CopyKind::host_to_device);
  }

  void run() override {
    cudaStream_t st = dev_.stream();
    check_cuda(cuda::knn_bounds(raw(), n_, bounds_.data(), st), "knn_bounds");
    check_cuda(cuda::knn_morton(raw(), n_, bounds_.data(), at(layout_.codes_in), at(layout_.index), st), "knn_morton");
    check_cuda(cuda::knn_sort(arena_.data() + layout_.temp, layout_.total - layout_.temp, at(layout_.codes_in),
                              at(layout_.codes_out), at(layout_.index), order_.data(), n_, st),
               "knn_sort");
    check_cuda(cuda::knn_gather_and_box(raw(), order_.data(), n_, sorted_.data(), box_lo_.data(), box_hi_.data(), st),
               "knn_gather_and_box");
    // At most kKnnMaxChunkBoxes boxes of queries per launch, as the chunked variant: one
    // launch's work is bounded whatever the cloud (a display GPU's watchdog kills long kernels).
    const int64_t per_launch = kKnnMaxChunkBoxes * kKnnBoxPoints;
    for (int64_t q = 0; q < n_; q += per_launch)
      check_cuda(cuda::knn_query(sorted_.data(), box_lo_.data(), box_hi_.data(), n_, q, std::min(n_, q + per_launch),
                                 order_.data(), out_.data(), st),
                 "knn_query");
  }
  double timed_run_ms() override {
    return time_on_stream_ms(dev_, [this] { run(); });
  }
  void fetch_outputs() override { out_.download(p_.out.data()); }
  std::string label() const override {
    return "math=fp32;search=morton_boxes;" + kernel_image_label(cuda::knn_query_kernel());
  }

 private:
  float* raw() { return reinterpret_cast<float*>(arena_.data() + layout_.raw); }
  uint32_t* at(size_t off) { return reinterpret_cast<uint32_t*>(arena_.data() + off); }

  KnnProblem& p_;
  CudaDevice& dev_;
  int64_t n_;
  BuildLayout layout_;
  DeviceArray<unsigned char> arena_;
  DeviceArray<float> out_, bounds_;
  DeviceArray<float4> sorted_, box_lo_, box_hi_;
  DeviceArray<uint32_t> order_;
};

// Device bytes the chunked variant may use: MODEBENCH_KNN_BUDGET, else 90 % of what is free now.
size_t chunked_budget() {
  if (const std::optional<size_t> b = knn_budget_from_env()) return *b;
  size_t free_b = 0, total_b = 0;
  check_cuda(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
  return free_b / 10 * 9;
}

// Memory-capped: the index is built on the host and queries run in chunks under a byte budget
// (harness/knn_stream.hpp). Host work and transfers are part of every call, so it is timed by wall clock.
class KnnChunkedGpu : public Instance {
 public:
  KnnChunkedGpu(KnnProblem& p, CudaDevice& dev)
      : p_(p), budget_(chunked_budget()), kernels_(dev.stream()), streamer_(dev, kernels_, checked_n(p), budget_) {}

  void run() override { streamer_.run(p_.points.data(), result_.data()); }
  double timed_run_ms() override {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  void fetch_outputs() override { std::copy(result_.begin(), result_.end(), p_.out.begin()); }
  std::string label() const override {
    const KnnStreamPlan& plan = streamer_.plan();
    const KnnStreamStats& s = streamer_.last_stats();
    return "math=fp32;search=morton_boxes;build=host;transfers=included;budget=" + std::to_string(budget_) +
           ";chunk=" + std::to_string(plan.chunk_boxes * kKnnBoxPoints) +
           ";tile=" + std::to_string(plan.tile_boxes * kKnnBoxPoints) + ";passes=" + std::to_string(s.passes) + ";" +
           kernel_image_label(cuda::knn_chunk_scan_kernel());
  }

 private:
  KnnProblem& p_;
  size_t budget_;
  CudaKnnStreamKernels<> kernels_;
  KnnStreamer streamer_;
  std::vector<float> result_ = std::vector<float>(p_.out.size(), std::numeric_limits<float>::quiet_NaN());
};

}  // namespace

std::unique_ptr<Instance> make_exact_knn(KnnProblem& p, Device& dev) {
  return std::make_unique<KnnExactGpu>(p, as_cuda(dev));
}
std::unique_ptr<Instance> make_chunked_knn(KnnProblem& p, Device& dev) {
  return std::make_unique<KnnChunkedGpu>(p, as_cuda(dev));
}

std::vector<KernelRef> exact_knn_kernels() {
  const cuda::KnnKernelRefs k = cuda::knn_kernels();
  return {{"knn_query", k.query, "knn.cu"},
          {"knn_bounds", k.bounds, "knn.cu"},
          {"knn_bounds_total", k.bounds_total, "knn.cu"},
          {"knn_morton", k.morton, "knn.cu"},
          {"knn_gather", k.gather, "knn.cu"},
          {"knn_boxes", k.boxes, "knn.cu"}};
}
std::vector<KernelRef> chunked_knn_kernels() {
  const cuda::KnnKernelRefs k = cuda::knn_kernels();
  return {{"knn_chunk_scan", k.chunk_scan, "knn.cu"},
          {"knn_chunk_init", k.chunk_init, "knn.cu"},
          {"knn_chunk_mark", k.chunk_mark, "knn.cu"},
          {"knn_chunk_finish", k.chunk_finish, "knn.cu"}};
}

}  // namespace mb
