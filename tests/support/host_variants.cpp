#include "tests/support/host_variants.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <numbers>
#include <stdexcept>

#include "kernels/common/gaussian.hpp"
#include "kernels/common/ssim_math.hpp"

namespace mb {
namespace {

// Planes [batch * channels] of height x width cut from planes of src_h x src_w.
std::vector<float> crop_planes(const std::vector<float>& src, int64_t planes, int64_t src_h, int64_t src_w,
                               int64_t height, int64_t width) {
  if (height > src_h || width > src_w) throw std::invalid_argument("a crop cannot be larger than its image");
  std::vector<float> out(static_cast<size_t>(planes * height * width));
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t r = 0; r < height; ++r)
      std::copy_n(src.begin() + (pl * src_h + r) * src_w, width, out.begin() + (pl * height + r) * width);
  return out;
}

}  // namespace

bool measuring_errors() {
  const char* e = std::getenv("MODEBENCH_MEASURE_ERRORS");
  return e && std::string(e) == "1";
}

Conv2dProblem cropped(const Conv2dProblem& p, int64_t batch, int64_t height, int64_t width) {
  ref::Conv2dShape s = p.shape;
  s.N = batch;
  s.H = height;
  s.W = width;
  Conv2dProblem out(s);
  out.x = crop_planes(p.x, batch * s.C, p.shape.H, p.shape.W, height, width);
  out.w = p.w;
  out.b = p.b;
  return out;
}

SsimProblem cropped(const SsimProblem& p, int64_t batch, int64_t height, int64_t width) {
  const ref::SsimShape s{batch, p.shape.channels, height, width};
  SsimProblem out(s);
  out.x = crop_planes(p.x, s.planes(), p.shape.height, p.shape.width, height, width);
  out.y = crop_planes(p.y, s.planes(), p.shape.height, p.shape.width, height, width);
  return out;
}

}  // namespace mb

namespace mb::emu {

float to_tf32(float v, Tf32 mode) {
  if (!std::isfinite(v)) return v;
  uint32_t bits = std::bit_cast<uint32_t>(v);
  constexpr uint32_t kDropped = (1u << 13) - 1;  // fp32 has 23 mantissa bits, TF32 keeps 10
  if (mode == Tf32::round_nearest) bits += (kDropped >> 1) + ((bits >> 13) & 1u);  // ties to even
  return std::bit_cast<float>(bits & ~kDropped);
}

std::vector<float> to_tf32(const std::vector<float>& v, Tf32 mode) {
  std::vector<float> out(v.size());
  std::transform(v.begin(), v.end(), out.begin(), [mode](float f) { return to_tf32(f, mode); });
  return out;
}

const std::vector<Order>& all_orders() {
  static const std::vector<Order> orders = {Order::sequential, Order::sequential_fma, Order::lanes8,
                                            Order::blocked256, Order::split_k4,       Order::pairwise};
  return orders;
}

std::string to_string(Order o) {
  switch (o) {
    case Order::sequential: return "sequential";
    case Order::sequential_fma: return "sequential_fma";
    case Order::lanes8: return "lanes8";
    case Order::blocked256: return "blocked256";
    case Order::split_k4: return "split_k4";
    case Order::pairwise: return "pairwise";
  }
  return "?";
}

namespace {

float lanes8(const float* x, const float* w, int64_t n) {
  float a[8] = {};
  for (int64_t k = 0; k < n; ++k) a[k % 8] = std::fma(x[k], w[k], a[k % 8]);
  return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

float fma_run(const float* x, const float* w, int64_t n, float acc) {
  for (int64_t k = 0; k < n; ++k) acc = std::fma(x[k], w[k], acc);
  return acc;
}

float pairwise(const float* x, const float* w, int64_t n) {
  if (n <= 8) return fma_run(x, w, n, 0.0f);
  const int64_t h = n / 2;
  return pairwise(x, w, h) + pairwise(x + h, w + h, n - h);
}

}  // namespace

float dot(const float* x, const float* w, int64_t n, float bias, Order order) {
  switch (order) {
    case Order::sequential: {
      float acc = 0.0f;
      for (int64_t k = 0; k < n; ++k) {
        const float term = x[k] * w[k];
        acc += term;
      }
      return acc + bias;
    }
    case Order::sequential_fma: return fma_run(x, w, n, bias);  // bias first, as a beta = 1 GEMM
    case Order::lanes8: return lanes8(x, w, n) + bias;
    case Order::blocked256: {
      float c = bias;
      for (int64_t k0 = 0; k0 < n; k0 += 256) c += lanes8(x + k0, w + k0, std::min<int64_t>(256, n - k0));
      return c;
    }
    case Order::split_k4: {
      float part[4];
      for (int64_t s = 0; s < 4; ++s) {
        const int64_t k0 = n * s / 4, k1 = n * (s + 1) / 4;
        part[s] = fma_run(x + k0, w + k0, k1 - k0, 0.0f);
      }
      return ((part[0] + part[1]) + (part[2] + part[3])) + bias;
    }
    case Order::pairwise: return pairwise(x, w, n) + bias;
  }
  throw std::logic_error("unknown order");
}

void linear(const float* x, const float* w, const float* b, const ref::LinearShape& s, Order order, float* y) {
#pragma omp parallel for collapse(2)
  for (int64_t i = 0; i < s.batch; ++i)
    for (int64_t o = 0; o < s.out; ++o) y[i * s.out + o] = dot(x + i * s.in, w + o * s.in, s.in, b[o], order);
}

float conv2d_output(const float* x, const float* w, const float* b, const ref::Conv2dShape& s, int64_t n, int64_t k,
                    int64_t p, int64_t q, Order order, ConvFault fault) {
  const int64_t g = k / s.Kg(), taps = s.Cg() * s.R * s.S;
  const int64_t col_stride = fault == ConvFault::column_stride_off_by_one ? s.stride + 1 : s.stride;
  const bool replicate_left = fault == ConvFault::left_padding_replicated_in_last_channel && k == s.K - 1;
  thread_local std::vector<float> window, filter;
  window.resize(static_cast<size_t>(taps));
  filter.assign(w + k * taps, w + (k + 1) * taps);
  if (fault == ConvFault::kernel_flipped)
    for (int64_t c = 0; c < s.Cg(); ++c)
      std::reverse(filter.begin() + c * s.R * s.S, filter.begin() + (c + 1) * s.R * s.S);
  float* t = window.data();
  for (int64_t c = 0; c < s.Cg(); ++c)
    for (int64_t r = 0; r < s.R; ++r)
      for (int64_t u = 0; u < s.S; ++u) {
        const int64_t ih = p * s.stride - s.pad + r;
        int64_t iw = q * col_stride - s.pad + u;
        if (iw < 0 && replicate_left) iw = 0;
        const bool inside = ih >= 0 && ih < s.H && iw >= 0 && iw < s.W;
        *t++ = inside ? x[((n * s.C + g * s.Cg() + c) * s.H + ih) * s.W + iw] : 0.0f;
      }
  const bool no_bias = fault == ConvFault::bias_missing_in_last_group && g == s.groups - 1;
  return dot(window.data(), filter.data(), taps, no_bias ? 0.0f : b[k], order);
}

void conv2d_direct(const float* x, const float* w, const float* b, const ref::Conv2dShape& s, Order order, float* y,
                   ConvFault fault) {
  const int64_t P = s.P(), Q = s.Q();
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q)
          y[((n * s.K + k) * P + p) * Q + q] = conv2d_output(x, w, b, s, n, k, p, q, order, fault);
}

namespace {

// Row-major float matrices, products summed in order with separate multiply and add.
struct Mat {
  int64_t rows, cols;
  std::vector<float> v;
  Mat(int64_t r, int64_t c) : rows(r), cols(c), v(static_cast<size_t>(r * c), 0.0f) {}
  Mat(int64_t r, int64_t c, std::initializer_list<double> d) : Mat(r, c) {
    std::transform(d.begin(), d.end(), v.begin(), [](double e) { return static_cast<float>(e); });
  }
  float& at(int64_t i, int64_t j) { return v[static_cast<size_t>(i * cols + j)]; }
  float at(int64_t i, int64_t j) const { return v[static_cast<size_t>(i * cols + j)]; }
};

Mat mul(const Mat& a, const Mat& b) {
  Mat c(a.rows, b.cols);
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t j = 0; j < b.cols; ++j) {
      float acc = 0.0f;
      for (int64_t l = 0; l < a.cols; ++l) {
        const float term = a.at(i, l) * b.at(l, j);
        acc += term;
      }
      c.at(i, j) = acc;
    }
  return c;
}

Mat transpose(const Mat& a) {
  Mat t(a.cols, a.rows);
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t j = 0; j < a.cols; ++j) t.at(j, i) = a.at(i, j);
  return t;
}

struct Winograd {
  int64_t m, a;  // output tile m x m, input tile a x a
  Mat BT, G, AT;
};

Winograd winograd_matrices(int m) {
  if (m == 2)
    return {2, 4, Mat(4, 4, {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1}),
            Mat(4, 3, {1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1}), Mat(2, 4, {1, 1, 1, 0, 0, 1, -1, -1})};
  if (m == 4)
    return {4, 6, Mat(6, 6, {4, 0,  -5, 0, 1, 0, 0, -4, -4, 1,  1, 0, 0, 4, -4, -1, 1, 0,
                             0, -2, -1, 2, 1, 0, 0, 2,  -1, -2, 1, 0, 0, 4, 0,  -5, 0, 1}),
            Mat(6, 3,
                {1.0 / 4, 0, 0, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 24, 1.0 / 12, 1.0 / 6,
                 1.0 / 24, -1.0 / 12, 1.0 / 6, 0, 0, 1}),
            Mat(4, 6, {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0, 0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 1})};
  if (m == 6)
    return {6, 8, Mat(8, 8, {1,         0,         -21.0 / 4, 0,    21.0 / 4, 0,   -1,    0,    0,     1,
                             1,         -17.0 / 4, -17.0 / 4, 1,    1,        0,   0,     -1,   1,     17.0 / 4,
                             -17.0 / 4, -1,        1,         0,    0,        0.5, 0.25,  -2.5, -1.25, 2,
                             1,         0,         0,         -0.5, 0.25,     2.5, -1.25, -2,   1,     0,
                             0,         2,         4,         -2.5, -5,       0.5, 1,     0,    0,     -2,
                             4,         2.5,       -5,        -0.5, 1,        0,   0,     -1,   0,     21.0 / 4,
                             0,         -21.0 / 4, 0,         1}),
            Mat(8, 3, {1,         0,        0,         -2.0 / 9,   -2.0 / 9, -2.0 / 9,  -2.0 / 9, 2.0 / 9,
                       -2.0 / 9,  1.0 / 90, 1.0 / 45,  2.0 / 45,   1.0 / 90, -1.0 / 45, 2.0 / 45, 32.0 / 45,
                       16.0 / 45, 8.0 / 45, 32.0 / 45, -16.0 / 45, 8.0 / 45, 0,         0,        1}),
            Mat(6, 8, {1, 1, 1, 1,  1,  1,        1,        0, 0, 1, -1, 2,  -2,  0.5,      -0.5,      0,
                       0, 1, 1, 4,  4,  0.25,     0.25,     0, 0, 1, -1, 8,  -8,  0.125,    -0.125,    0,
                       0, 1, 1, 16, 16, 1.0 / 16, 1.0 / 16, 0, 0, 1, -1, 32, -32, 1.0 / 32, -1.0 / 32, 1})};
  throw std::invalid_argument("Winograd F(m, 3) emulated for m = 2, 4 and 6 only");
}

}  // namespace

void conv2d_winograd(const float* x, const float* w, const float* b, const ref::Conv2dShape& s, int m, float* y) {
  if (s.R != 3 || s.S != 3 || s.stride != 1) throw std::invalid_argument("Winograd F(m, 3): 3x3, stride 1");
  const Winograd t = winograd_matrices(m);
  const Mat B = transpose(t.BT), GT = transpose(t.G), A = transpose(t.AT);
  const int64_t P = s.P(), Q = s.Q(), Cg = s.Cg();
  // Filter transforms U[k][c] = G g G^T.
  std::vector<Mat> U;
  for (int64_t k = 0; k < s.K; ++k)
    for (int64_t c = 0; c < Cg; ++c) {
      Mat g(3, 3);
      std::copy_n(w + (k * Cg + c) * 9, 9, g.v.begin());
      U.push_back(mul(mul(t.G, g), GT));
    }
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k) {
      const int64_t grp = k / s.Kg();
      for (int64_t p0 = 0; p0 < P; p0 += t.m)
        for (int64_t q0 = 0; q0 < Q; q0 += t.m) {
          Mat M(t.a, t.a);
          for (int64_t c = 0; c < Cg; ++c) {
            Mat d(t.a, t.a);
            for (int64_t i = 0; i < t.a; ++i)
              for (int64_t j = 0; j < t.a; ++j) {
                const int64_t ih = p0 - s.pad + i, iw = q0 - s.pad + j;
                if (ih >= 0 && ih < s.H && iw >= 0 && iw < s.W)
                  d.at(i, j) = x[((n * s.C + grp * Cg + c) * s.H + ih) * s.W + iw];
              }
            const Mat V = mul(mul(t.BT, d), B);
            const Mat& u = U[static_cast<size_t>(k * Cg + c)];
            for (size_t e = 0; e < M.v.size(); ++e) {
              const float term = u.v[e] * V.v[e];
              M.v[e] += term;
            }
          }
          const Mat Y = mul(mul(t.AT, M), A);
          for (int64_t i = 0; i < t.m && p0 + i < P; ++i)
            for (int64_t j = 0; j < t.m && q0 + j < Q; ++j)
              y[((n * s.K + k) * P + p0 + i) * Q + q0 + j] = Y.at(i, j) + b[k];
        }
    }
}

namespace {

struct Cf {
  float re, im;
};
// Written out: std::complex<float>'s operator* checks for NaN and calls into libgcc.
Cf operator*(Cf a, Cf b) { return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re}; }
Cf operator+(Cf a, Cf b) { return {a.re + b.re, a.im + b.im}; }
Cf operator-(Cf a, Cf b) { return {a.re - b.re, a.im - b.im}; }
Cf conj(Cf a) { return {a.re, -a.im}; }

// In-place iterative radix-2 FFT of n points at data[0], data[stride], ...
void fft1d(Cf* data, int64_t n, int64_t stride, const std::vector<Cf>& twiddle, bool inverse) {
  for (int64_t i = 1, j = 0; i < n; ++i) {
    int64_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(data[i * stride], data[j * stride]);
  }
  for (int64_t len = 2; len <= n; len <<= 1) {
    const int64_t step = n / len;
    for (int64_t i = 0; i < n; i += len)
      for (int64_t k = 0; k < len / 2; ++k) {
        const Cf tw = inverse ? conj(twiddle[static_cast<size_t>(k * step)]) : twiddle[static_cast<size_t>(k * step)];
        Cf& lo = data[(i + k) * stride];
        Cf& hi = data[(i + k + len / 2) * stride];
        const Cf t = tw * hi;
        hi = lo - t;
        lo = lo + t;
      }
  }
}

void fft2d(std::vector<Cf>& plane, int64_t L, const std::vector<Cf>& twiddle, bool inverse) {
  for (int64_t r = 0; r < L; ++r) fft1d(plane.data() + r * L, L, 1, twiddle, inverse);
  for (int64_t c = 0; c < L; ++c) fft1d(plane.data() + c, L, L, twiddle, inverse);
}

}  // namespace

void conv2d_fft(const float* x, const float* w, const float* b, const ref::Conv2dShape& s, float* y) {
  if (s.stride != 1) throw std::invalid_argument("FFT convolution: stride 1");
  int64_t L = 1;
  while (L < std::max(s.H, s.W) + 2 * s.pad) L <<= 1;
  std::vector<Cf> twiddle(static_cast<size_t>(L / 2));
  for (int64_t k = 0; k < L / 2; ++k) {
    const double a = -2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(L);
    twiddle[static_cast<size_t>(k)] = {static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a))};
  }
  const size_t plane = static_cast<size_t>(L * L);
  // Spectra of every zero-padded input plane.
  std::vector<std::vector<Cf>> X(static_cast<size_t>(s.N * s.C));
#pragma omp parallel for
  for (int64_t nc = 0; nc < s.N * s.C; ++nc) {
    std::vector<Cf>& f = X[static_cast<size_t>(nc)];
    f.assign(plane, Cf{0.0f, 0.0f});
    for (int64_t h = 0; h < s.H; ++h)
      for (int64_t v = 0; v < s.W; ++v)
        f[static_cast<size_t>((h + s.pad) * L + v + s.pad)].re = x[(nc * s.H + h) * s.W + v];
    fft2d(f, L, twiddle, false);
  }
  const int64_t P = s.P(), Q = s.Q();
  const float scale = 1.0f / static_cast<float>(L * L);
#pragma omp parallel for
  for (int64_t k = 0; k < s.K; ++k) {
    const int64_t grp = k / s.Kg();
    std::vector<std::vector<Cf>> Wk(static_cast<size_t>(s.Cg()));
    for (int64_t c = 0; c < s.Cg(); ++c) {
      std::vector<Cf>& f = Wk[static_cast<size_t>(c)];
      f.assign(plane, Cf{0.0f, 0.0f});
      for (int64_t r = 0; r < s.R; ++r)
        for (int64_t u = 0; u < s.S; ++u)
          f[static_cast<size_t>(r * L + u)].re = w[((k * s.Cg() + c) * s.R + r) * s.S + u];
      fft2d(f, L, twiddle, false);
    }
    std::vector<Cf> acc(plane);
    for (int64_t n = 0; n < s.N; ++n) {
      std::fill(acc.begin(), acc.end(), Cf{0.0f, 0.0f});
      for (int64_t c = 0; c < s.Cg(); ++c) {
        const std::vector<Cf>& xf = X[static_cast<size_t>(n * s.C + grp * s.Cg() + c)];
        const std::vector<Cf>& wf = Wk[static_cast<size_t>(c)];
        for (size_t e = 0; e < plane; ++e) acc[e] = acc[e] + xf[e] * conj(wf[e]);  // correlation, not convolution
      }
      fft2d(acc, L, twiddle, true);
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q)
          y[((n * s.K + k) * P + p) * Q + q] = acc[static_cast<size_t>(p * L + q)].re * scale + b[k];
    }
  }
}

namespace {

float ssim_formula(float mx, float my, float exx, float eyy, float exy, float c1, float c2, bool centred) {
  const float ux = centred ? mx : 0.0f, uy = centred ? my : 0.0f;
  const float var_x = std::max(exx - ux * ux, 0.0f), var_y = std::max(eyy - uy * uy, 0.0f), cov = exy - ux * uy;
  const float v = (2.0f * mx * my + c1) * (2.0f * cov + c2) / ((mx * mx + my * my + c1) * (var_x + var_y + c2));
  return std::clamp(v, -1.0f, 1.0f);
}

}  // namespace

double ssim_separable(const float* x, const float* y, const ref::SsimShape& s, float* map, SsimFault fault) {
  constexpr int kStats = 5, R = common::kGaussRadius;
  const int64_t H = s.height, W = s.width, n = H * W;
  const int outer_h = fault == SsimFault::outer_taps_missing_in_horizontal_pass ? R - 1 : R;
  const bool wide = fault == SsimFault::constants_for_range_255;
  const float c1 = wide ? (0.01f * 255) * (0.01f * 255) : common::kSsimC1;
  const float c2 = wide ? (0.03f * 255) * (0.03f * 255) : common::kSsimC2;
  std::vector<double> plane_sum(static_cast<size_t>(s.planes()));
#pragma omp parallel
  {
    std::vector<float> h(static_cast<size_t>(kStats * n));
#pragma omp for
    for (int64_t pl = 0; pl < s.planes(); ++pl) {
      const float* px = x + pl * n;
      const float* py = y + pl * n;
      for (int64_t r = 0; r < H; ++r)
        for (int64_t c = 0; c < W; ++c) {
          float acc[kStats] = {};
          for (int k = -outer_h; k <= outer_h; ++k) {
            int64_t cc = c + k;
            if (cc < 0 && fault == SsimFault::replicate_padding_on_left_edge) cc = 0;
            if (cc < 0 || cc >= W) continue;
            const float t = common::gauss_tap(k + R), xv = px[r * W + cc], yv = py[r * W + cc];
            const float stat[kStats] = {xv, yv, xv * xv, yv * yv, xv * yv};
            for (int q = 0; q < kStats; ++q) acc[q] += t * stat[q];
          }
          for (int q = 0; q < kStats; ++q) h[static_cast<size_t>(q * n + r * W + c)] = acc[q];
        }
      double sum = 0.0;
      for (int64_t r = 0; r < H; ++r)
        for (int64_t c = 0; c < W; ++c) {
          float acc[kStats] = {};
          for (int k = -R; k <= R; ++k) {
            if (r + k < 0 || r + k >= H) continue;
            for (int q = 0; q < kStats; ++q)
              acc[q] += common::gauss_tap(k + R) * h[static_cast<size_t>(q * n + (r + k) * W + c)];
          }
          const float v =
              ssim_formula(acc[0], acc[1], acc[2], acc[3], acc[4], c1, c2, fault != SsimFault::moments_not_centred);
          map[pl * n + r * W + c] = v;
          sum += v;
        }
      plane_sum[static_cast<size_t>(pl)] = sum;
    }
  }
  double total = 0.0;
  int64_t counted = 0;
  for (int64_t pl = 0; pl < s.planes(); ++pl)
    if (fault != SsimFault::mean_over_first_channel || pl % s.channels == 0) {
      total += plane_sum[static_cast<size_t>(pl)];
      counted += n;
    }
  return total / static_cast<double>(counted);
}

double ssim_window_2d(const float* x, const float* y, const ref::SsimShape& s, float* map) {
  constexpr int R = common::kGaussRadius, T = common::kGaussTaps;
  const int64_t H = s.height, W = s.width, n = H * W;
  float window[T][T];
  for (int i = 0; i < T; ++i)
    for (int j = 0; j < T; ++j) window[i][j] = common::gauss_tap(i) * common::gauss_tap(j);
  double total = 0.0;
#pragma omp parallel for reduction(+ : total)
  for (int64_t pl = 0; pl < s.planes(); ++pl) {
    const float* px = x + pl * n;
    const float* py = y + pl * n;
    for (int64_t r = 0; r < H; ++r)
      for (int64_t c = 0; c < W; ++c) {
        float mx = 0, my = 0, exx = 0, eyy = 0, exy = 0;
        for (int i = -R; i <= R; ++i)
          for (int j = -R; j <= R; ++j) {
            const int64_t rr = r + i, cc = c + j;
            if (rr < 0 || rr >= H || cc < 0 || cc >= W) continue;
            const float g = window[i + R][j + R], xv = px[rr * W + cc], yv = py[rr * W + cc];
            mx += g * xv, my += g * yv, exx += g * (xv * xv), eyy += g * (yv * yv), exy += g * (xv * yv);
          }
        const float v = common::ssim_value(mx, my, exx, eyy, exy);
        map[pl * n + r * W + c] = v;
        total += v;
      }
  }
  return total / static_cast<double>(s.pixels());
}

}  // namespace mb::emu
