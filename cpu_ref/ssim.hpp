#pragma once
// Reference of the fused-ssim forward (docs/ops.md, "ssim"): 11-tap Gaussian applied
// horizontally then vertically with zero padding to x, y, x^2, y^2, xy; the
// clamped SSIM formula per pixel; the mean over every pixel of every plane.
// Plain loops, double throughout; taps, window and constants its own (no kernels/ code).
#include <array>
#include <cstdint>

#include "cpu_ref/checked_size.hpp"

namespace mb::ref {

inline constexpr int kSsimTaps = 11;
// The window's 1-D taps, offsets -5..5, computed in double from docs/ops.md's definition.
const std::array<double, kSsimTaps>& ssim_taps();

struct SsimShape {
  int64_t batch, channels, height, width;
  // SizeOverflow when int64 cannot hold them (a batch near 2^62).
  int64_t planes() const { return checked_product({batch, channels}); }
  int64_t plane_size() const { return checked_product({height, width}); }
  int64_t pixels() const { return checked_product({planes(), plane_size()}); }
};

// The map of one H x W plane (x, y, map all row-major H x W); returns the sum of the map.
// `conditioning`, when given (same layout), receives each pixel's ssim_conditioning().
double ssim_plane(const float* x, const float* y, int64_t height, int64_t width, double* map,
                  double* conditioning = nullptr);

// Map value at (row, col) of one plane, evaluated directly from its 11 x 11 window; its
// ssim_conditioning() in `conditioning` when given.
double ssim_map_at(const float* x, const float* y, int64_t height, int64_t width, int64_t row, int64_t col,
                   double* conditioning = nullptr);

// How much a rounding of the local second moments moves the map at a pixel (docs/ops.md,
// "ssim", the metric): an absolute error e * M in each of sigma_x^2, sigma_y^2 and sigma_xy,
// where M bounds what fp32 computes them from (E[(x-s)^2] + (mu_x-s)^2, likewise y, for any
// shift s in the inputs' range [0, 1]), moves the map by at most e times this value:
// (|l| + |map|) (M_x + M_y) / (sigma_x^2 + sigma_y^2 + C2), l the luminance term.
// Statistics in the order mu_x, mu_y, E[x^2], E[y^2], E[xy] (zero-padded window).
double ssim_conditioning(const double stats[5]);

// The whole [B, C, H, W] problem: fills map (same layout) and returns the mean.
double ssim(const float* x, const float* y, const SsimShape& s, double* map);

}  // namespace mb::ref
