// knn on the GPU (simple-knn's distCUDA2, exact): "exact" keeps the whole
// problem resident; "chunked" keeps the cloud on the host, builds the Morton
// boxes in one scratch arena and then reuses that arena for the queries, which
// it runs in chunks streamed back to pinned host memory, so it needs about
// 44 instead of 48 bytes per point plus the sort scratch and fails early with
// out_of_memory when even that exceeds its byte budget.
#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "harness/cuda/cuda_check.hpp"
#include "harness/cuda/cuda_device.hpp"
#include "harness/ops/knn.hpp"
#include "harness/status.hpp"
#include "kernels/cuda/knn.hpp"

namespace mb {
namespace {

constexpr size_t kAlign = 256;
size_t aligned(size_t b) { return (b + kAlign - 1) / kAlign * kAlign; }

// Queries per launch of the chunked variant: bounds one kernel's run time too (display watchdogs).
constexpr int64_t kMaxChunk = int64_t{1} << 20;

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

class KnnGpu : public Instance {
 public:
  // budget: device bytes the chunked variant may use (0: 90 % of what is free now).
  KnnGpu(KnnProblem& p, CudaDevice& dev, bool chunked, size_t budget = 0)
      : p_(p),
        dev_(dev),
        chunked_(chunked),
        n_(checked_n(p)),
        boxes_(cuda::knn_box_count(n_)),
        layout_(n_, sort_temp_bytes(n_)) {
    const size_t un = static_cast<size_t>(n_);
    if (chunked_) {
      if (budget == 0) {
        size_t free_b = 0, total_b = 0;
        check_cuda(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
        budget = free_b / 10 * 9;
      }
      const size_t resident = un * (sizeof(float4) + sizeof(uint32_t)) +
                              2 * static_cast<size_t>(boxes_) * sizeof(float4) + cuda::kKnnBoundFloats * sizeof(float);
      const size_t min_chunk_bytes = 2 * aligned(sizeof(float) * static_cast<size_t>(std::min<int64_t>(n_, 4096)));
      if (resident + std::max(layout_.total, min_chunk_bytes) > budget)
        throw DeviceFailure(ErrorClass::out_of_memory,
                            "knn chunked needs " + std::to_string(resident + std::max(layout_.total, min_chunk_bytes)) +
                                " device bytes for " + std::to_string(n_) + " points, budget " +
                                std::to_string(budget));
      // The arena holds the build scratch, then two chunk buffers (one computes while the other copies back).
      const size_t arena = std::max(layout_.total, min_chunk_bytes);
      chunk_ = std::clamp<int64_t>(static_cast<int64_t>((arena - 2 * kAlign) / (2 * sizeof(float))), 1,
                                   std::min(n_, kMaxChunk));
      arena_ = DeviceArray<unsigned char>(dev, arena);
      host_sorted_out_.resize(un);
      host_order_.resize(un);
      host_points_ = p.points;  // the cloud lives on the host; pinned so uploads are DMA
      pins_.emplace_back(std::make_unique<PinnedRegion>(dev, host_points_.data(), host_points_.size() * sizeof(float)));
      pins_.emplace_back(std::make_unique<PinnedRegion>(dev, host_sorted_out_.data(), un * sizeof(float)));
      pins_.emplace_back(std::make_unique<PinnedRegion>(dev, host_order_.data(), un * sizeof(uint32_t)));
      result_.assign(un, std::numeric_limits<float>::quiet_NaN());
    } else {
      arena_ = DeviceArray<unsigned char>(dev, layout_.total);
      out_ = DeviceArray<float>(dev, un);
      check_cuda(cudaMemsetAsync(out_.data(), 0xFF, out_.bytes(), dev.stream()), "cudaMemsetAsync(out)");
      dev.copy(raw(), p.points.data(), 3 * un * sizeof(float), CopyKind::host_to_device);
    }
    sorted_ = DeviceArray<float4>(dev, un);
    order_ = DeviceArray<uint32_t>(dev, un);
    box_lo_ = DeviceArray<float4>(dev, static_cast<size_t>(boxes_));
    box_hi_ = DeviceArray<float4>(dev, static_cast<size_t>(boxes_));
    bounds_ = DeviceArray<float>(dev, cuda::kKnnBoundFloats);
    dev.synchronize();
  }

  void run() override {
    cudaStream_t st = dev_.stream();
    const size_t un = static_cast<size_t>(n_);
    if (chunked_)
      check_cuda(cudaMemcpyAsync(raw(), host_points_.data(), 3 * un * sizeof(float), cudaMemcpyHostToDevice, st),
                 "upload points");
    build(st);
    if (!chunked_) {
      check_cuda(
          cuda::knn_query(sorted_.data(), box_lo_.data(), box_hi_.data(), n_, 0, n_, order_.data(), out_.data(), st),
          "knn_query");
      return;
    }
    check_cuda(cudaMemcpyAsync(host_order_.data(), order_.data(), un * sizeof(uint32_t), cudaMemcpyDeviceToHost, st),
               "download order");
    // The build scratch is dead from here on (same stream): the arena now holds the chunk buffers.
    float* chunk_buf[2] = {
        reinterpret_cast<float*>(arena_.data()),
        reinterpret_cast<float*>(arena_.data() + aligned(static_cast<size_t>(chunk_) * sizeof(float)))};
    int k = 0;
    for (int64_t begin = 0; begin < n_; begin += chunk_, k ^= 1) {
      const int64_t end = std::min(n_, begin + chunk_);
      check_cuda(
          cuda::knn_query(sorted_.data(), box_lo_.data(), box_hi_.data(), n_, begin, end, nullptr, chunk_buf[k], st),
          "knn_query chunk");
      check_cuda(cudaMemcpyAsync(host_sorted_out_.data() + begin, chunk_buf[k],
                                 static_cast<size_t>(end - begin) * sizeof(float), cudaMemcpyDeviceToHost, st),
                 "download chunk");
    }
    check_cuda(cudaStreamSynchronize(st), "knn chunked");
    for (size_t i = 0; i < un; ++i) result_[host_order_[i]] = host_sorted_out_[i];
  }

  double timed_run_ms() override {
    if (!chunked_) return time_on_stream_ms(dev_, [this] { run(); });
    // Host-involved (uploads, chunk downloads, scatter): wall time of the whole call.
    const auto t0 = std::chrono::steady_clock::now();
    run();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  void fetch_outputs() override {
    if (chunked_)
      std::memcpy(p_.out.data(), result_.data(), result_.size() * sizeof(float));
    else
      out_.download(p_.out.data());
  }
  std::string label() const override {
    std::string l = "math=fp32;search=morton_boxes;";
    if (chunked_) l += "chunk=" + std::to_string(chunk_) + ";transfers=included;";
    return l + kernel_image_label(cuda::knn_query_kernel());
  }

 private:
  float* raw() { return reinterpret_cast<float*>(arena_.data() + layout_.raw); }
  uint32_t* at(size_t off) { return reinterpret_cast<uint32_t*>(arena_.data() + off); }

  void build(cudaStream_t st) {
    check_cuda(cuda::knn_bounds(raw(), n_, bounds_.data(), st), "knn_bounds");
    check_cuda(cuda::knn_morton(raw(), n_, bounds_.data(), at(layout_.codes_in), at(layout_.index), st), "knn_morton");
    check_cuda(cuda::knn_sort(arena_.data() + layout_.temp, layout_.total - layout_.temp, at(layout_.codes_in),
                              at(layout_.codes_out), at(layout_.index), order_.data(), n_, st),
               "knn_sort");
    check_cuda(cuda::knn_gather_and_box(raw(), order_.data(), n_, sorted_.data(), box_lo_.data(), box_hi_.data(), st),
               "knn_gather_and_box");
  }

  KnnProblem& p_;
  CudaDevice& dev_;
  bool chunked_;
  int64_t n_, boxes_;
  BuildLayout layout_;
  int64_t chunk_ = 0;
  DeviceArray<unsigned char> arena_;
  DeviceArray<float> out_, bounds_;
  DeviceArray<float4> sorted_, box_lo_, box_hi_;
  DeviceArray<uint32_t> order_;
  std::vector<float> host_points_, host_sorted_out_, result_;
  std::vector<uint32_t> host_order_;
  std::vector<std::unique_ptr<PinnedRegion>> pins_;  // declared after the vectors: unpinned first
};

}  // namespace

std::unique_ptr<Instance> make_knn_gpu(const std::string& impl, KnnProblem& p, Device& dev) {
  if (impl != "exact" && impl != "chunked") throw BadInput("knn has no gpu impl '" + impl + "'");
  CudaDevice& cd = as_cuda(dev);
  return std::make_unique<KnnGpu>(p, cd, impl == "chunked");
}

}  // namespace mb
