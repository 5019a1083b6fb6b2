#include "kernels/cpu/conv2d.hpp"

#include <cblas.h>

#include <algorithm>
#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/cpu/onednn_util.hpp"

namespace mb::cpu {

struct OnednnConv2d::Impl {
  dnnl::convolution_forward prim;
  dnnl::memory::desc user_src_md, user_dst_md;
  dnnl::memory weights, bias;
  // Set when the primitive runs in a blocked layout (e.g. nChw8c): staging buffers
  // allocated once, the reorders themselves run on every call.
  bool src_reorder = false, dst_reorder = false;
  dnnl::reorder to_blocked, to_nchw;
  dnnl::memory conv_src, conv_dst;
  std::string info;
};

OnednnConv2d::OnednnConv2d(const float* w, const float* b, const ref::Conv2dShape& s)
    : impl_(std::make_unique<Impl>()) {
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  dnnl::engine& eng = onednn_engine();
  Impl& m = *impl_;

  const dims src_dims = {s.N, s.C, s.H, s.W}, dst_dims = {s.N, s.K, s.P(), s.Q()};
  const bool grouped = s.groups > 1;
  const dims w_dims = grouped ? dims{s.groups, s.Kg(), s.Cg(), s.R, s.S} : dims{s.K, s.C, s.R, s.S};
  m.user_src_md = dnnl::memory::desc(src_dims, dt::f32, tag::nchw);
  m.user_dst_md = dnnl::memory::desc(dst_dims, dt::f32, tag::nchw);
  dnnl::memory::desc user_w_md(w_dims, dt::f32, grouped ? tag::goihw : tag::oihw);
  dnnl::memory::desc bias_md({s.K}, dt::f32, tag::a);

  // Layouts left to the primitive (tag::any), as ideep does for PyTorch's NCHW tensors.
  // Padding on the right is what floor((H + 2 pad - R) / stride) + 1 leaves over.
  const int64_t pad_b = (s.P() - 1) * s.stride + s.R - s.H - s.pad;
  const int64_t pad_r = (s.Q() - 1) * s.stride + s.S - s.W - s.pad;
  dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
      dnnl::memory::desc(src_dims, dt::f32, tag::any), dnnl::memory::desc(w_dims, dt::f32, tag::any), bias_md,
      dnnl::memory::desc(dst_dims, dt::f32, tag::any), {s.stride, s.stride}, {s.pad, s.pad}, {pad_b, pad_r});
  dnnl::convolution_forward::primitive_desc pd(desc, eng);
  m.prim = dnnl::convolution_forward(pd);
  m.info = pd.impl_info_str();

  if (pd.src_desc() != m.user_src_md) {
    m.src_reorder = true;
    m.conv_src = dnnl::memory(pd.src_desc(), eng);
    m.to_blocked = dnnl::reorder(dnnl::memory(m.user_src_md, eng, nullptr), m.conv_src);
  }
  if (pd.dst_desc() != m.user_dst_md) {
    m.dst_reorder = true;
    m.conv_dst = dnnl::memory(pd.dst_desc(), eng);
    m.to_nchw = dnnl::reorder(m.conv_dst, dnnl::memory(m.user_dst_md, eng, nullptr));
  }

  dnnl::memory user_w(user_w_md, eng, const_cast<float*>(w));
  m.weights = dnnl::memory(pd.weights_desc(), eng);
  dnnl::reorder(user_w, m.weights).execute(onednn_stream(), user_w, m.weights);
  m.bias = dnnl::memory(bias_md, eng);
  std::copy(b, b + s.K, static_cast<float*>(m.bias.get_data_handle()));
  onednn_stream().wait();
}

OnednnConv2d::~OnednnConv2d() = default;

void OnednnConv2d::run(const float* x, float* y) {
  dnnl::engine& eng = onednn_engine();
  dnnl::stream& strm = onednn_stream();
  Impl& m = *impl_;
  dnnl::memory user_src(m.user_src_md, eng, const_cast<float*>(x));
  dnnl::memory user_dst(m.user_dst_md, eng, y);
  dnnl::memory src = user_src, dst = user_dst;
  if (m.src_reorder) {
    m.to_blocked.execute(strm, user_src, m.conv_src);
    src = m.conv_src;
  }
  if (m.dst_reorder) dst = m.conv_dst;
  m.prim.execute(strm,
                 {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, m.weights}, {DNNL_ARG_BIAS, m.bias}, {DNNL_ARG_DST, dst}});
  if (m.dst_reorder) m.to_nchw.execute(strm, m.conv_dst, user_dst);
  strm.wait();
}

std::string OnednnConv2d::impl_info() const { return impl_->info; }
bool OnednnConv2d::reorders_activations() const { return impl_->src_reorder || impl_->dst_reorder; }

Im2colConv2d::Im2colConv2d(const ref::Conv2dShape& s)
    : s_(s), direct_(s.R == 1 && s.S == 1 && s.stride == 1 && s.pad == 0) {
  if (!direct_) col_.resize(static_cast<size_t>(s.C * s.R * s.S * s.P() * s.Q()));
}

void Im2colConv2d::run(const float* x, const float* w, const float* b, float* y) {
  const auto& s = s_;
  const int64_t P = s.P(), Q = s.Q(), PQ = P * Q, HW = s.H * s.W;
  const int64_t RS = s.R * s.S, rows = s.C * RS, Kg = s.Kg(), CgRS = s.Cg() * RS;
  for (int64_t n = 0; n < s.N; ++n) {
    const float* xn = x + n * s.C * HW;
    float* yn = y + n * s.K * PQ;
    const float* col = xn;
    if (!direct_) {
      // Row (c, r, t) of the column matrix holds input channel c shifted by tap (r, t);
      // rows of all groups at once so one parallel region covers the image.
#pragma omp parallel for schedule(static)
      for (int64_t row = 0; row < rows; ++row) {
        const int64_t c = row / RS, r = (row / s.S) % s.R, t = row % s.S;
        const float* xc = xn + c * HW;
        float* dst = col_.data() + row * PQ;
        for (int64_t p = 0; p < P; ++p) {
          float* d = dst + p * Q;
          const int64_t ih = p * s.stride - s.pad + r;
          if (ih < 0 || ih >= s.H) {
            std::fill(d, d + Q, 0.0f);
            continue;
          }
          const float* xrow = xc + ih * s.W;
          for (int64_t q = 0; q < Q; ++q) {
            const int64_t iw = q * s.stride - s.pad + t;
            d[q] = (iw >= 0 && iw < s.W) ? xrow[iw] : 0.0f;
          }
        }
      }
      col = col_.data();
    }
    for (int64_t k = 0; k < s.K; ++k) std::fill(yn + k * PQ, yn + (k + 1) * PQ, b[k]);
    for (int64_t g = 0; g < s.groups; ++g) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(Kg), static_cast<blasint>(PQ),
                  static_cast<blasint>(CgRS), 1.0f, w + g * Kg * CgRS, static_cast<blasint>(CgRS), col + g * CgRS * PQ,
                  static_cast<blasint>(PQ), 1.0f, yn + g * Kg * PQ, static_cast<blasint>(PQ));
    }
  }
}

}  // namespace mb::cpu
