#include "providers/torch/torch_impl.hpp"

#include <ATen/native/ConvUtils.h>
#include <c10/core/Event.h>

#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>

#include "harness/provider.hpp"
#include "providers/torch/torch_device.hpp"
#include "providers/torch/torch_errors.hpp"
#include "providers/torch/torch_runtime.hpp"

namespace mb {
namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

const at::Device kHost(at::kCPU);
const at::Device kCuda(at::kCUDA, 0);

std::vector<at::Tensor> to_device(const std::vector<at::Tensor>& ts, at::Device d) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& t : ts) out.push_back(t.to(d));
  return out;
}

void synchronize_cuda() { torch_cuda_stream().synchronize(); }

// What every placement shares: the problem's tensors as torch sees them, the compute, and
// the outputs of the last call.
class TorchInstance : public Instance {
 public:
  // Only what validation needs: the last call's outputs in the problem's buffers.
  void fetch_outputs() override {
    torch_guarded([&] {
      for (size_t k = 0; k < outputs_.size(); ++k) {
        const TensorRef& ref = refs_[output_index_[k]];
        const at::Tensor host = outputs_[k].to(kHost, at::kFloat).contiguous();
        if (static_cast<size_t>(host.numel()) != ref.count)
          throw std::logic_error("torch output " + ref.name + " has " + std::to_string(host.numel()) +
                                 " elements, the problem " + std::to_string(ref.count));
        std::memcpy(ref.data, host.data_ptr<float>(), ref.bytes());
      }
    });
  }
  std::string label() const override {
    const std::string own = compute().label();
    return own.empty() ? placement_ : placement_ + ";" + own;
  }
  Precision precision() const override { return compute().precision(); }

 protected:
  TorchInstance(Problem& p, const TorchOp& op, std::string placement)
      : refs_(p.tensors()), shapes_(op.shapes(p)), placement_(std::move(placement)) {
    if (shapes_.size() != refs_.size()) throw std::logic_error("torch op: one shape per problem tensor");
    for (size_t i = 0; i < refs_.size(); ++i) {
      at::Tensor view = host_view(refs_[i].data, shapes_[i]);
      if (refs_[i].role == Role::input) host_inputs_.push_back(view);
      if (refs_[i].role == Role::weight) host_weights_.push_back(view);
      if (refs_[i].role == Role::output) output_index_.push_back(i);
    }
  }
  virtual const TorchCompute& compute() const = 0;
  std::vector<int64_t> output_shape(size_t k) const { return shapes_[output_index_[k]]; }
  size_t output_count() const { return output_index_.size(); }

  // The outputs of a call, which replace the last call's: those are released first, as a loop
  // that drops each result does, so the allocator can hand their memory to this call (kept,
  // a 26 MB conv2d output cost a fresh allocation, and its page faults, in every call).
  void compute_outputs(TorchCompute& c, const std::vector<at::Tensor>& inputs) {
    outputs_.clear();
    outputs_ = c.forward(inputs);
  }

  std::vector<at::Tensor> host_inputs_, host_weights_;  // views of the problem's buffers
  std::vector<at::Tensor> outputs_;                     // of the last call, wherever they are

 private:
  std::vector<TensorRef> refs_;
  std::vector<std::vector<int64_t>> shapes_;
  std::vector<size_t> output_index_;
  std::string placement_;
};

class HostTorch : public TorchInstance {
 public:
  HostTorch(Problem& p, const TorchOp& op) : TorchInstance(p, op, "torch=host") {
    compute_ = op.make(p, host_weights_, kHost);
  }
  void run() override {
    torch_guarded([&] { compute_outputs(*compute_, host_inputs_); });
  }
  const TorchCompute& compute() const override { return *compute_; }

 private:
  std::unique_ptr<TorchCompute> compute_;
};

class DeviceTorch : public TorchInstance {
 public:
  DeviceTorch(Problem& p, const TorchOp& op)
      : TorchInstance(p, op, "torch=device"),
        start_(c10::DeviceType::CUDA, c10::EventFlag::BACKEND_DEFAULT),
        end_(c10::DeviceType::CUDA, c10::EventFlag::BACKEND_DEFAULT) {
    inputs_ = to_device(host_inputs_, kCuda);
    compute_ = op.make(p, to_device(host_weights_, kCuda), kCuda);
    synchronize_cuda();
  }
  void run() override {
    torch_guarded([&] { compute_outputs(*compute_, inputs_); });
  }
  // CUDA events on torch's stream around the call, as the harness's own device impls.
  double timed_run_ms() override {
    double ms = 0.0;
    torch_guarded([&] {
      const c10::Stream stream = torch_cuda_stream();
      outputs_.clear();
      start_.record(stream);
      outputs_ = compute_->forward(inputs_);
      end_.record(stream);
      end_.synchronize();
      ms = start_.elapsedTime(end_);
    });
    return ms;
  }
  const TorchCompute& compute() const override { return *compute_; }

 private:
  std::vector<at::Tensor> inputs_;
  std::unique_ptr<TorchCompute> compute_;
  c10::Event start_, end_;
};

// The hybrid pattern's shared part: inputs and a compute with its weights on the device (where
// a model's tensors already are), a host compute, and the split of the last call.
class HybridTorch : public TorchInstance {
 public:
  std::optional<CallSplit> call_split() const override { return split_; }
  double timed_run_ms() override {
    run();
    return split_.total_ms();
  }
  const TorchCompute& compute() const override { return *host_; }

 protected:
  HybridTorch(Problem& p, const TorchOp& op, std::string placement) : TorchInstance(p, op, std::move(placement)) {
    device_inputs_ = to_device(host_inputs_, kCuda);
    device_ = op.make(p, to_device(host_weights_, kCuda), kCuda);
    std::vector<at::Tensor> placeholders;
    for (const at::Tensor& w : host_weights_) placeholders.push_back(at::empty_like(w));
    host_ = op.make(p, placeholders, kHost);
    synchronize_cuda();
  }
  // Every weight of the host compute takes a fresh `.cpu()` of the device compute's.
  void weights_to_host() {
    std::vector<at::Tensor> on_device = device_->weights(), on_host = host_->weights();
    if (on_device.size() != on_host.size()) throw std::logic_error("torch op: weights differ between devices");
    for (size_t i = 0; i < on_host.size(); ++i) on_host[i].set_data(on_device[i].cpu());
  }

  std::vector<at::Tensor> device_inputs_;
  std::unique_ptr<TorchCompute> device_, host_;
  CallSplit split_;
};

class NaiveTorch : public HybridTorch {
 public:
  NaiveTorch(Problem& p, const TorchOp& op) : HybridTorch(p, op, "hybrid=torch_naive") {}
  void run() override {
    torch_guarded([&] {
      const auto t0 = Clock::now();
      std::vector<at::Tensor> inputs;
      for (const at::Tensor& x : device_inputs_) inputs.push_back(x.cpu());
      weights_to_host();
      const auto t1 = Clock::now();
      const std::vector<at::Tensor> outs = host_->forward(inputs);
      const auto t2 = Clock::now();
      outputs_.clear();
      for (const at::Tensor& y : outs) outputs_.push_back(y.cuda());
      synchronize_cuda();
      split_ = {ms_between(t0, t1), ms_between(t1, t2), ms_between(t2, Clock::now())};
    });
  }
};

class CachedTorch : public HybridTorch {
 public:
  CachedTorch(Problem& p, const TorchOp& op) : HybridTorch(p, op, "hybrid=torch_cached;overlap=none") {
    weights_to_host();  // once
    const at::TensorOptions pinned = at::TensorOptions().dtype(at::kFloat).pinned_memory(true);
    for (const at::Tensor& x : device_inputs_) staged_inputs_.push_back(at::empty(x.sizes(), pinned));
    for (size_t k = 0; k < output_count(); ++k) {
      staged_outputs_.push_back(at::empty(output_shape(k), pinned));
      outputs_.push_back(at::empty(output_shape(k), at::TensorOptions().dtype(at::kFloat).device(kCuda)));
    }
  }
  void run() override {
    torch_guarded([&] {
      const auto t0 = Clock::now();
      for (size_t i = 0; i < staged_inputs_.size(); ++i) staged_inputs_[i].copy_(device_inputs_[i], true);
      synchronize_cuda();
      const auto t1 = Clock::now();
      const std::vector<at::Tensor> outs = host_->forward(staged_inputs_);
      const auto t2 = Clock::now();
      for (size_t k = 0; k < outs.size(); ++k) {
        staged_outputs_[k].copy_(outs[k].reshape(output_shape(k)));
        outputs_[k].copy_(staged_outputs_[k], true);
      }
      synchronize_cuda();
      split_ = {ms_between(t0, t1), ms_between(t1, t2), ms_between(t2, Clock::now())};
    });
  }

 private:
  std::vector<at::Tensor> staged_inputs_, staged_outputs_;  // pinned
};

// Set-up through torch_guarded too: an upload or a library's set-up can fail like a call.
template <class T>
ProviderFactory factory(std::shared_ptr<const TorchOp> op) {
  return [op](Problem& p, Device*, RowRange) {
    std::unique_ptr<Instance> out;
    torch_guarded([&] { out = std::make_unique<T>(p, *op); });
    return out;
  };
}

}  // namespace

TorchMath torch_math(at::Device where, bool tf32_allowed) {
  if (where.is_cuda() && tf32_allowed && torch_cuda_runtime().device_cc >= 80)
    return {Precision::tf32, "math=tf32-allowed"};
  return {Precision::fp32, "math=fp32"};
}

at::Tensor host_view(float* data, const std::vector<int64_t>& shape) {
  return at::from_blob(data, shape, at::TensorOptions().dtype(at::kFloat));
}

namespace {
std::map<std::pair<std::string, std::string>, std::shared_ptr<const TorchOp>>& installed() {
  static std::map<std::pair<std::string, std::string>, std::shared_ptr<const TorchOp>> ops;
  return ops;
}
}  // namespace

const TorchOp* installed_torch_op(const std::string& op, const std::string& name) {
  auto it = installed().find({op, name});
  return it == installed().end() ? nullptr : it->second.get();
}

void install_torch_impls(const std::string& op, const std::string& name, TorchOp torch_op, bool hybrid) {
  auto shared = std::make_shared<const TorchOp>(std::move(torch_op));
  installed()[{op, name}] = shared;
  install_provider_factory(op, name, Placement::host, factory<HostTorch>(shared));
  install_provider_factory(op, name, Placement::device, factory<DeviceTorch>(shared));
  if (!hybrid) return;
  install_provider_factory(op, "torch_naive", Placement::hybrid, factory<NaiveTorch>(shared));
  install_provider_factory(op, "torch_cached", Placement::hybrid, factory<CachedTorch>(shared));
}

const char* conv_backend_name(at::native::ConvBackend b) {
  using B = at::native::ConvBackend;
  switch (b) {
    case B::CudaDepthwise2d: return "CudaDepthwise2d";
    case B::Cudnn: return "Cudnn";
    case B::Mkldnn: return "Mkldnn";
    case B::MkldnnEmpty: return "MkldnnEmpty";
    case B::NnpackSpatial: return "NnpackSpatial";
    case B::Slow2d: return "Slow2d";
    case B::SlowDilated2d: return "SlowDilated2d";
    case B::Winograd3x3Depthwise: return "Winograd3x3Depthwise";
    case B::Xnnpack2d: return "Xnnpack2d";
    case B::Empty: return "Empty";
    default: return "other";
  }
}

}  // namespace mb
