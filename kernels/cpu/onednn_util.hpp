#pragma once
// One oneDNN CPU engine and stream for the process: every oneDNN impl shares them.
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

namespace mb::cpu {

dnnl::engine& onednn_engine();
dnnl::stream& onednn_stream();

// A forward convolution primitive on the caller's plain tensors (activations nc[h]w, weights
// o[i]... or g..., bias [K]), shared by conv2d and conv1d: the weights are reordered once into
// the primitive's layout and the bias copied; the activations are reordered in and out on
// every run() where the primitive chose another layout (that cost is part of what a user gets).
class OnednnConvolution {
 public:
  OnednnConvolution(const dnnl::convolution_forward::primitive_desc& pd, const dnnl::memory::desc& user_src,
                    const dnnl::memory::desc& user_weights, const dnnl::memory::desc& user_dst, const float* w,
                    const float* b);
  void run(const float* x, float* y);
  // The kernel oneDNN picked (e.g. "jit:avx2").
  const std::string& impl_info() const { return info_; }
  // Which activations run() reorders: "none", "src", "dst" or "src+dst".
  std::string reorders() const;

 private:
  dnnl::convolution_forward prim_;
  dnnl::memory::desc user_src_md_, user_dst_md_;
  dnnl::memory weights_, bias_;
  // Set when the primitive runs in a blocked layout (e.g. nChw8c): staging buffers
  // allocated once, the reorders themselves run on every call.
  bool src_reorder_ = false, dst_reorder_ = false;
  dnnl::reorder to_blocked_, to_plain_;
  dnnl::memory conv_src_, conv_dst_;
  std::string info_;
};

}  // namespace mb::cpu
