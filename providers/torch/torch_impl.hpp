#pragma once
// The places a torch impl runs, shared by every op: ops/<op>/torch.cpp says only what it
// computes (a TorchCompute) and installs its rows with install_torch_impls().
//
//   host   (cpu, impl torch):   on views of the problem's own buffers (no copy), as a user
//          calling torch on CPU tensors; the outputs torch returns are copied into the
//          problem's buffers only to be validated.
//   device (gpu and ptx-jit, impl torch): inputs and weights uploaded at set-up; a call is
//          timed with CUDA events on torch's current stream.
//   hybrid torch_naive: the common monkeypatch. Inputs and weights live on the device; every
//          call takes `.cpu()` of the inputs and of every weight (fresh pageable tensors),
//          computes on the host and returns the outputs with `.cuda()`.
//   hybrid torch_cached: the weights are copied to the host once at set-up; inputs and outputs
//          are staged through pinned host tensors with non-blocking copies on torch's stream
//          (no overlap of copies with compute: one chunk).
// Hybrid calls are split into copy-in / compute / copy-out (host clock, the device synchronized
// at each boundary). Every torch call goes through torch_guarded (statuses, not c10::Error).
#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness/op_case.hpp"
#include "harness/precision.hpp"

namespace at::native {
enum class ConvBackend;  // ATen/native/ConvUtils.h
}

namespace mb {

// What an op's torch impl computes, on the device its tensors are on.
class TorchCompute {
 public:
  virtual ~TorchCompute() = default;
  // The outputs, in the order of the problem's output tensors, from its inputs in the order of
  // its input tensors (same device as the compute's weights).
  virtual std::vector<at::Tensor> forward(const std::vector<at::Tensor>& inputs) = 0;
  // The tensors it holds as weights (parameters and buffers): hybrid naive replaces each one's
  // data by a fresh `.cpu()` of the device copy's on every call. Same order whatever the device.
  virtual std::vector<at::Tensor> weights() { return {}; }
  // key=value facts for the label (what ran: conv_backend=..., cdist=...).
  virtual std::string label() const { return {}; }
  virtual Precision precision() const { return Precision::fp32; }
};

// An op's torch impl.
struct TorchOp {
  // The shape of each of the problem's tensors, in tensors() order.
  std::function<std::vector<std::vector<int64_t>>(Problem&)> shapes;
  // A compute on `device` with `weights` (the problem's weight tensors, in tensors() order,
  // already on that device; empty for an op whose weights are its own, like the model's).
  std::function<std::unique_ptr<TorchCompute>(Problem&, const std::vector<at::Tensor>& weights, at::Device device)>
      make;
};

// Installs the op's torch rows in this process (modebench-torch): `name` in cpu (host) and in
// gpu and ptx-jit (device); with `hybrid`, torch_naive and torch_cached.
void install_torch_impls(const std::string& op, const std::string& name, TorchOp torch_op, bool hybrid);
// The TorchOp installed as (op, name); nullptr when none was (the overhead tool calls its compute
// directly, without the harness: bench/torch/overhead.cpp).
const TorchOp* installed_torch_op(const std::string& op, const std::string& name);

// The fp32 math a torch op ran with, in the harness's words: on a CUDA device where torch allows
// TF32 for that library (torch's defaults: cuDNN yes, cuBLAS no) and the device has it (CC >= 8.0),
// math=tf32-allowed (precision tf32: the TF32 tolerance); else math=fp32.
struct TorchMath {
  Precision precision;
  std::string label;
};
TorchMath torch_math(at::Device where, bool tf32_allowed);

// The name of the convolution implementation torch dispatches to (at::native::select_conv_backend),
// for the conv ops' labels: conv1d runs as a 2-D convolution of height 1 in most of them.
// cuDNN's own algorithm under it is not readable through libtorch's API.
const char* conv_backend_name(at::native::ConvBackend b);

// A float tensor viewing (not owning) host memory of this shape.
at::Tensor host_view(float* data, const std::vector<int64_t>& shape);

}  // namespace mb
