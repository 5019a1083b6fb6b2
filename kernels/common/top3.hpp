#pragma once
// The three smallest values seen so far, kept sorted ascending; the knn op's
// result is their mean (simple-knn's distCUDA2). Aggregate without a
// constructor so CUDA code can keep it in registers or shared memory.
#include <cmath>

#include "kernels/common/hd.hpp"

namespace mb {

template <class T>
struct Top3T {
  T d[3];

  static MB_HD Top3T empty() { return Top3T{{T(INFINITY), T(INFINITY), T(INFINITY)}}; }

  // Keeps v if it is among the three smallest (equal values are all kept; NaN is ignored).
  MB_HD void insert(T v) {
    if (!(v < d[2])) return;
    if (v < d[1]) {
      d[2] = d[1];
      if (v < d[0]) {
        d[1] = d[0];
        d[0] = v;
      } else {
        d[1] = v;
      }
    } else {
      d[2] = v;
    }
  }

  // Bound for pruning: a candidate must be below this to change the result.
  MB_HD T worst() const { return d[2]; }
  MB_HD T mean() const { return (d[0] + d[1] + d[2]) / T(3); }
};

using Top3 = Top3T<float>;

}  // namespace mb
