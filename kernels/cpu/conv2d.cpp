#include "kernels/cpu/conv2d.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/cpu/onednn_util.hpp"
#include "kernels/cpu/serial_blas.hpp"

namespace mb::cpu {

struct OnednnConv2d::Impl {
  OnednnConvolution conv;
};

namespace {

OnednnConvolution make_conv2d(const float* w, const float* b, const Conv2dShape& s, ActivationLayout layout) {
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  const dims src_dims = {s.N, s.C, s.H, s.W}, dst_dims = {s.N, s.K, s.P(), s.Q()};
  const bool grouped = s.groups > 1;
  const dims w_dims = grouped ? dims{s.groups, s.Kg(), s.Cg(), s.R, s.S} : dims{s.K, s.C, s.R, s.S};
  const dnnl::memory::desc user_src_md(src_dims, dt::f32, tag::nchw), user_dst_md(dst_dims, dt::f32, tag::nchw);
  const dnnl::memory::desc user_w_md(w_dims, dt::f32, grouped ? tag::goihw : tag::oihw);
  const dnnl::memory::desc bias_md({s.K}, dt::f32, tag::a);

  // Padding on the right is what floor((H + 2 pad - R) / stride) + 1 leaves over.
  const int64_t pad_b = (s.P() - 1) * s.stride + s.R - s.H - s.pad;
  const int64_t pad_r = (s.Q() - 1) * s.stride + s.S - s.W - s.pad;
  dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
      layout == ActivationLayout::caller_nchw ? user_src_md : dnnl::memory::desc(src_dims, dt::f32, tag::any),
      dnnl::memory::desc(w_dims, dt::f32, tag::any), bias_md, dnnl::memory::desc(dst_dims, dt::f32, tag::any),
      {s.stride, s.stride}, {s.pad, s.pad}, {pad_b, pad_r});
  return OnednnConvolution(dnnl::convolution_forward::primitive_desc(desc, onednn_engine()), user_src_md, user_w_md,
                           user_dst_md, w, b);
}

}  // namespace

OnednnConv2d::OnednnConv2d(const float* w, const float* b, const Conv2dShape& s, ActivationLayout layout)
    : impl_(std::make_unique<Impl>(Impl{make_conv2d(w, b, s, layout)})) {}

OnednnConv2d::~OnednnConv2d() = default;

void OnednnConv2d::run(const float* x, float* y) { impl_->conv.run(x, y); }

std::string OnednnConv2d::impl_info() const { return impl_->conv.impl_info(); }
std::string OnednnConv2d::reorders() const { return impl_->conv.reorders(); }

Im2colConv2d::Im2colConv2d(const Conv2dShape& s) : s_(s), direct_(s.R == 1 && s.S == 1 && s.stride == 1 && s.pad == 0) {
  // Work items are (image, column chunk): whole images when the batch can feed every
  // thread, else each image's output columns split across the threads.
  const int64_t threads = omp_get_max_threads();
  chunks_ = s.N >= threads ? 1 : std::min<int64_t>(threads, s.P() * s.Q());
  chunk_cols_ = (s.P() * s.Q() + chunks_ - 1) / chunks_;
  if (!direct_) col_.resize(static_cast<size_t>(threads * s.C * s.R * s.S * chunk_cols_));
}

void Im2colConv2d::run(const float* x, const float* w, const float* b, float* y) {
  const auto& s = s_;
  const int64_t P = s.P(), Q = s.Q(), PQ = P * Q, HW = s.H * s.W;
  const int64_t RS = s.R * s.S, rows = s.C * RS, Kg = s.Kg(), CgRS = s.Cg() * RS;
  const int64_t items = s.N * chunks_;
  SerialBlas serial;
#pragma omp parallel for schedule(static)
  for (int64_t item = 0; item < items; ++item) {
    const int64_t n = item / chunks_;
    const int64_t j0 = (item % chunks_) * chunk_cols_, j1 = std::min(PQ, j0 + chunk_cols_), cols = j1 - j0;
    if (cols <= 0) continue;
    const float* xn = x + n * s.C * HW;
    float* yn = y + n * s.K * PQ;
    // Column matrix of this item: [C*R*S, cols], row (c, r, t) = channel c shifted by tap (r, t).
    const float* col = xn + j0;
    int64_t ldcol = PQ;
    if (!direct_) {
      float* buf = col_.data() + static_cast<size_t>(omp_get_thread_num()) * rows * chunk_cols_;
      for (int64_t row = 0; row < rows; ++row) {
        const int64_t c = row / RS, r = (row / s.S) % s.R, t = row % s.S;
        const float* xc = xn + c * HW;
        float* d = buf + row * cols;
        // Walk the chunk one output row segment at a time (no division per element).
        for (int64_t j = j0; j < j1;) {
          const int64_t p = j / Q, q0 = j % Q, q1 = std::min(Q, q0 + (j1 - j));
          const int64_t ih = p * s.stride - s.pad + r;
          float* dd = d + (j - j0);
          if (ih < 0 || ih >= s.H) {
            std::fill(dd, dd + (q1 - q0), 0.0f);
          } else {
            const float* xrow = xc + ih * s.W;
            for (int64_t q = q0; q < q1; ++q) {
              const int64_t iw = q * s.stride - s.pad + t;
              dd[q - q0] = (iw >= 0 && iw < s.W) ? xrow[iw] : 0.0f;
            }
          }
          j += q1 - q0;
        }
      }
      col = buf;
      ldcol = cols;
    }
    for (int64_t k = 0; k < s.K; ++k) std::fill(yn + k * PQ + j0, yn + k * PQ + j1, b[k]);
    for (int64_t g = 0; g < s.groups; ++g) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(Kg), static_cast<blasint>(cols),
                  static_cast<blasint>(CgRS), 1.0f, w + g * Kg * CgRS, static_cast<blasint>(CgRS),
                  col + g * CgRS * ldcol, static_cast<blasint>(ldcol), 1.0f, yn + g * Kg * PQ + j0,
                  static_cast<blasint>(PQ));
    }
  }
}

}  // namespace mb::cpu
