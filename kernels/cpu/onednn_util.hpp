#pragma once
// One oneDNN CPU engine and stream for the process: every oneDNN impl shares them.
#include <oneapi/dnnl/dnnl.hpp>

namespace mb::cpu {

dnnl::engine& onednn_engine();
dnnl::stream& onednn_stream();

}  // namespace mb::cpu
