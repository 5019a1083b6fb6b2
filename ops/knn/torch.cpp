// knn in torch (modebench-torch only): the exact 3-NN people write in PyTorch when simple-knn's
// CUDA extension is missing or runs out of memory: queries in chunks, torch.cdist of each chunk
// against every point, topk(4) smallest, the self (first, distance 0) dropped, the mean of the
// three squared distances.
//   torch:       cdist as people call it (compute_mode default: above 25 rows it takes the
//                |x|^2 + |y|^2 - 2xy matrix form, whose cancellation loses near neighbours'
//                distances: expect `wrong`, the finding);
//   torch_exact: compute_mode='donot_use_mm_for_euclid_dist' (differences, then squares).
// The chunk is sized so its distance matrix and topk's scratch fit a fixed budget, on the host
// and on the device alike (MODEBENCH_KNN_BUDGET is the chunked impl's, and its reduced-size
// check shrinks it to a few boxes).
#include "ops/knn/knn.hpp"
#include "providers/torch/torch_impl.hpp"

namespace mb {
namespace {

constexpr size_t kBudget = size_t{256} << 20;
// cdist's compute_mode argument: 0 = use_mm_for_euclid_dist_if_necessary (the default), 2 =
// donot_use_mm_for_euclid_dist.
constexpr int64_t kDefaultMode = 0, kExactMode = 2;

class TorchKnn : public TorchCompute {
 public:
  // The distance matrix and topk's working copy: 2 floats per pair.
  TorchKnn(int64_t n, bool exact)
      : exact_(exact),
        chunk_(
            std::clamp<int64_t>(static_cast<int64_t>(kBudget / (2 * sizeof(float) * static_cast<size_t>(n))), 1, n)) {}
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& in) override {
    const at::Tensor& points = in[0];
    const int64_t n = points.size(0);
    at::Tensor out = at::empty({n}, points.options());
    for (int64_t begin = 0; begin < n; begin += chunk_) {
      const int64_t rows = std::min(chunk_, n - begin);
      const at::Tensor d = at::cdist(points.narrow(0, begin, rows), points, 2.0, exact_ ? kExactMode : kDefaultMode);
      const at::Tensor nearest = std::get<0>(d.topk(4, 1, /*largest=*/false, /*sorted=*/true));
      out.narrow(0, begin, rows).copy_(nearest.narrow(1, 1, 3).square().mean(1));
    }
    return {out};
  }
  std::string label() const override {
    return std::string("math=fp32;cdist=") + (exact_ ? "donot_use_mm" : "default") +
           ";budget=" + std::to_string(kBudget >> 20) + "M;chunk=" + std::to_string(chunk_);
  }

 private:
  bool exact_;
  int64_t chunk_;
};

TorchOp knn_torch_op(bool exact) {
  TorchOp op;
  op.shapes = [](Problem& p) -> std::vector<std::vector<int64_t>> {
    const int64_t n = static_cast<KnnProblem&>(p).n;
    return {{n, 3}, {n}};
  };
  op.make = [exact](Problem& p, const std::vector<at::Tensor>&, at::Device) {
    return std::make_unique<TorchKnn>(static_cast<KnnProblem&>(p).n, exact);
  };
  return op;
}

}  // namespace

void install_torch_knn() {
  install_torch_impls("knn", "torch", knn_torch_op(false), /*hybrid=*/false);
  // Hybrid asks where a call's time goes, so it runs the correct variant.
  install_torch_impls("knn", "torch_exact", knn_torch_op(true), /*hybrid=*/true);
}

}  // namespace mb
