#include "kernels/cpu/linear.hpp"

#include <cblas.h>

#include <algorithm>
#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/cpu/onednn_util.hpp"

namespace mb::cpu {

void linear_openblas(const float* x, const float* w, const float* b, float* y, int64_t batch, int64_t in, int64_t out) {
  for (int64_t i = 0; i < batch; ++i) std::copy(b, b + out, y + i * out);
  const auto n_in = static_cast<blasint>(in), n_out = static_cast<blasint>(out);
  if (batch == 1) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, n_out, n_in, 1.0f, w, n_in, x, 1, 1.0f, y, 1);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(batch), n_out, n_in, 1.0f, x, n_in, w, n_in,
              1.0f, y, n_out);
}

struct OnednnLinear::Impl {
  dnnl::matmul prim;
  dnnl::memory::desc src_md, dst_md;
  dnnl::memory weights, bias;
};

OnednnLinear::OnednnLinear(const float* w, const float* b, int64_t batch, int64_t in, int64_t out)
    : impl_(std::make_unique<Impl>()) {
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  dnnl::engine& eng = onednn_engine();
  impl_->src_md = dnnl::memory::desc({batch, in}, dt::f32, tag::ab);
  impl_->dst_md = dnnl::memory::desc({batch, out}, dt::f32, tag::ab);
  dnnl::memory::desc user_w_md({in, out}, dt::f32, tag::ba);  // W[out,in] row-major is [in,out] transposed
  dnnl::memory::desc any_w_md({in, out}, dt::f32, tag::any);
  dnnl::memory::desc bias_md({1, out}, dt::f32, tag::ab);

  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(impl_->src_md, any_w_md, bias_md, impl_->dst_md), eng);
  impl_->prim = dnnl::matmul(pd);

  // Pack the weights once, into whatever layout the chosen kernel wants.
  dnnl::memory user_w(user_w_md, eng, const_cast<float*>(w));
  impl_->weights = dnnl::memory(pd.weights_desc(), eng);
  dnnl::reorder(user_w, impl_->weights).execute(onednn_stream(), user_w, impl_->weights);
  impl_->bias = dnnl::memory(bias_md, eng);
  std::copy(b, b + out, static_cast<float*>(impl_->bias.get_data_handle()));
  onednn_stream().wait();
}

OnednnLinear::~OnednnLinear() = default;

void OnednnLinear::run(const float* x, float* y) {
  dnnl::engine& eng = onednn_engine();
  dnnl::memory src(impl_->src_md, eng, const_cast<float*>(x));
  dnnl::memory dst(impl_->dst_md, eng, y);
  impl_->prim.execute(
      onednn_stream(),
      {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, impl_->weights}, {DNNL_ARG_BIAS, impl_->bias}, {DNNL_ARG_DST, dst}});
  onednn_stream().wait();
}

}  // namespace mb::cpu
