#include "kernels/cpu/onednn_util.hpp"

#include <algorithm>

namespace mb::cpu {

dnnl::engine& onednn_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& onednn_stream() {
  static dnnl::stream s(onednn_engine());
  return s;
}

OnednnConvolution::OnednnConvolution(const dnnl::convolution_forward::primitive_desc& pd,
                                     const dnnl::memory::desc& user_src, const dnnl::memory::desc& user_weights,
                                     const dnnl::memory::desc& user_dst, const float* w, const float* b)
    : prim_(pd), user_src_md_(user_src), user_dst_md_(user_dst), info_(pd.impl_info_str()) {
  dnnl::engine& eng = onednn_engine();
  if (pd.src_desc() != user_src_md_) {
    src_reorder_ = true;
    conv_src_ = dnnl::memory(pd.src_desc(), eng);
    to_blocked_ = dnnl::reorder(dnnl::memory(user_src_md_, eng, nullptr), conv_src_);
  }
  if (pd.dst_desc() != user_dst_md_) {
    dst_reorder_ = true;
    conv_dst_ = dnnl::memory(pd.dst_desc(), eng);
    to_plain_ = dnnl::reorder(conv_dst_, dnnl::memory(user_dst_md_, eng, nullptr));
  }
  dnnl::memory user_w(user_weights, eng, const_cast<float*>(w));
  weights_ = dnnl::memory(pd.weights_desc(), eng);
  dnnl::reorder(user_w, weights_).execute(onednn_stream(), user_w, weights_);
  bias_ = dnnl::memory(pd.bias_desc(), eng);
  const size_t k = pd.bias_desc().get_size() / sizeof(float);
  std::copy(b, b + k, static_cast<float*>(bias_.get_data_handle()));
  onednn_stream().wait();
}

void OnednnConvolution::run(const float* x, float* y) {
  dnnl::engine& eng = onednn_engine();
  dnnl::stream& strm = onednn_stream();
  dnnl::memory user_src(user_src_md_, eng, const_cast<float*>(x));
  dnnl::memory user_dst(user_dst_md_, eng, y);
  dnnl::memory src = user_src, dst = user_dst;
  if (src_reorder_) {
    to_blocked_.execute(strm, user_src, conv_src_);
    src = conv_src_;
  }
  if (dst_reorder_) dst = conv_dst_;
  prim_.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_BIAS, bias_}, {DNNL_ARG_DST, dst}});
  if (dst_reorder_) to_plain_.execute(strm, conv_dst_, user_dst);
  strm.wait();
}

std::string OnednnConvolution::reorders() const {
  if (src_reorder_ && dst_reorder_) return "src+dst";
  return src_reorder_ ? "src" : dst_reorder_ ? "dst" : "none";
}

}  // namespace mb::cpu
