#include "kernels/cpu/onednn_util.hpp"

namespace mb::cpu {

dnnl::engine& onednn_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& onednn_stream() {
  static dnnl::stream s(onednn_engine());
  return s;
}

}  // namespace mb::cpu
