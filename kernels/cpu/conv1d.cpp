#include "kernels/cpu/conv1d.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/cpu/onednn_util.hpp"
#include "kernels/cpu/serial_blas.hpp"

namespace mb::cpu {

struct OnednnConv1d::Impl {
  OnednnConvolution conv;
};

namespace {

OnednnConvolution make_conv1d(const float* w, const float* b, const Conv1dShape& s) {
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  const dims src_dims = {s.N, s.C, s.L}, dst_dims = {s.N, s.K, s.Lout()};
  const bool grouped = s.groups > 1;
  const dims w_dims = grouped ? dims{s.groups, s.Kg(), s.Cg(), s.kernel} : dims{s.K, s.C, s.kernel};
  const dnnl::memory::desc user_src_md(src_dims, dt::f32, tag::ncw), user_dst_md(dst_dims, dt::f32, tag::ncw);
  const dnnl::memory::desc user_w_md(w_dims, dt::f32, grouped ? tag::goiw : tag::oiw);
  const dnnl::memory::desc bias_md({s.K}, dt::f32, tag::a);
  // oneDNN counts dilation from 0 (taps adjacent). The right padding is what the last window
  // reads past the input; none where the stride leaves input over.
  const int64_t pad_r = std::max<int64_t>(0, (s.Lout() - 1) * s.stride + s.span() - s.L - s.pad);
  dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
      dnnl::memory::desc(src_dims, dt::f32, tag::any), dnnl::memory::desc(w_dims, dt::f32, tag::any), bias_md,
      dnnl::memory::desc(dst_dims, dt::f32, tag::any), {s.stride}, {s.dilation - 1}, {s.pad}, {pad_r});
  return OnednnConvolution(dnnl::convolution_forward::primitive_desc(desc, onednn_engine()), user_src_md, user_w_md,
                           user_dst_md, w, b);
}

}  // namespace

OnednnConv1d::OnednnConv1d(const float* w, const float* b, const Conv1dShape& s)
    : impl_(std::make_unique<Impl>(Impl{make_conv1d(w, b, s)})) {}

OnednnConv1d::~OnednnConv1d() = default;

void OnednnConv1d::run(const float* x, float* y) { impl_->conv.run(x, y); }

std::string OnednnConv1d::impl_info() const { return impl_->conv.impl_info(); }
std::string OnednnConv1d::reorders() const { return impl_->conv.reorders(); }

Im2colConv1d::Im2colConv1d(const Conv1dShape& s) : s_(s), direct_(s.kernel == 1 && s.stride == 1 && s.pad == 0) {
  const int64_t threads = omp_get_max_threads();
  chunks_ = s.N >= threads ? 1 : std::min<int64_t>(threads, s.Lout());
  chunk_cols_ = (s.Lout() + chunks_ - 1) / chunks_;
  if (!direct_) col_.resize(static_cast<size_t>(threads * s.C * s.kernel * chunk_cols_));
}

void Im2colConv1d::run(const float* x, const float* w, const float* b, float* y) {
  const auto& s = s_;
  const int64_t Lo = s.Lout(), rows = s.C * s.kernel, Kg = s.Kg(), CgT = s.Cg() * s.kernel;
  const int64_t items = s.N * chunks_;
  SerialBlas serial;
#pragma omp parallel for schedule(static)
  for (int64_t item = 0; item < items; ++item) {
    const int64_t n = item / chunks_;
    const int64_t j0 = (item % chunks_) * chunk_cols_, j1 = std::min(Lo, j0 + chunk_cols_), cols = j1 - j0;
    if (cols <= 0) continue;
    const float* xn = x + n * s.C * s.L;
    float* yn = y + n * s.K * Lo;
    const float* col = xn + j0;
    int64_t ldcol = s.L;
    if (!direct_) {
      float* buf = col_.data() + static_cast<size_t>(omp_get_thread_num()) * rows * chunk_cols_;
      for (int64_t row = 0; row < rows; ++row) {
        const float* xc = xn + (row / s.kernel) * s.L;
        const int64_t offset = (row % s.kernel) * s.dilation - s.pad;
        float* d = buf + row * cols;
        for (int64_t j = j0; j < j1; ++j) {
          const int64_t il = j * s.stride + offset;
          d[j - j0] = (il >= 0 && il < s.L) ? xc[il] : 0.0f;
        }
      }
      col = buf;
      ldcol = cols;
    }
    for (int64_t k = 0; k < s.K; ++k) std::fill(yn + k * Lo + j0, yn + k * Lo + j1, b[k]);
    for (int64_t g = 0; g < s.groups; ++g)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(Kg), static_cast<blasint>(cols),
                  static_cast<blasint>(CgT), 1.0f, w + g * Kg * CgT, static_cast<blasint>(CgT), col + g * CgT * ldcol,
                  static_cast<blasint>(ldcol), 1.0f, yn + g * Kg * Lo + j0, static_cast<blasint>(Lo));
  }
}

}  // namespace mb::cpu
