// The simulated cuDNN 9: the legacy convolution API the project calls (harness/device/cuda/
// cudnn_conv.hpp, ops/conv2d/gpu.cpp, ops/ssim/gpu.cpp, cuda_facts.cpp), with cuDNN's documented
// statuses. The forward convolution runs on oneDNN's CPU engine (an engine that is not ours), enqueued
// on the handle's stream so it happens only when that stream is synchronised.
//
// What the simulation adds to cuDNN's contract, to catch misuse a real cuDNN lets through silently:
//  - only NCHW fp32 tensors and filters (what the project uses): anything else is NOT_SUPPORTED;
//  - handles and descriptors are tracked, so a destroyed or never-created one is BAD_PARAM;
//  - the algorithms cuDNN "has" come from MODEBENCH_SIM_CUDNN_ALGOS (see algo_table below), so the
//    project's algorithm choice, and its handling of failed ones, can be driven from a test.
#include <cudnn.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "sim/sim.hpp"

// The opaque structs of cudnn_graph.h, cudnn_ops.h and cudnn_cnn.h.
struct cudnnContext {
  cudaStream_t stream = nullptr;  // the legacy default stream until cudnnSetStream
};

struct cudnnTensorStruct {
  bool set = false;  // created but never set: unusable, as in cuDNN
  int n = 0, c = 0, h = 0, w = 0;
};

struct cudnnFilterStruct {
  bool set = false;
  int k = 0, c = 0, h = 0, w = 0;
};

struct cudnnConvolutionStruct {
  bool set = false;
  int pad_h = 0, pad_w = 0, u = 1, v = 1, dil_h = 1, dil_w = 1;
  cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  // cuDNN's defaults for a new descriptor: one group, default math.
  int groups = 1;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

namespace {

// ---- object tracking -------------------------------------------------------------------------

std::mutex& objects_mutex() {
  static std::mutex m;
  return m;
}

// The live objects of one kind; a pointer not in the set was never created or is destroyed.
template <class T>
std::unordered_set<const T*>& live() {
  static std::unordered_set<const T*> s;
  return s;
}

template <class T>
cudnnStatus_t create(T** out) {
  if (!out) return CUDNN_STATUS_BAD_PARAM;
  T* p = new T();
  std::lock_guard<std::mutex> lock(objects_mutex());
  live<T>().insert(p);
  *out = p;
  return CUDNN_STATUS_SUCCESS;
}

// Destroying nullptr is a no-op, as free() is; destroying twice is BAD_PARAM.
template <class T>
cudnnStatus_t destroy(T* p) {
  if (!p) return CUDNN_STATUS_SUCCESS;
  {
    std::lock_guard<std::mutex> lock(objects_mutex());
    if (live<T>().erase(p) == 0) return CUDNN_STATUS_BAD_PARAM;
  }
  delete p;
  return CUDNN_STATUS_SUCCESS;
}

// A copy of a live object's state (work enqueued later must not see later changes), or nothing.
template <class T>
std::optional<T> snapshot(const T* p) {
  if (!p) return std::nullopt;
  std::lock_guard<std::mutex> lock(objects_mutex());
  if (!live<T>().count(p)) return std::nullopt;
  return *p;
}

// Applies `change` to a live object under the lock; BAD_PARAM for one that is not live.
template <class T, class F>
cudnnStatus_t modify(T* p, F change) {
  if (!p) return CUDNN_STATUS_BAD_PARAM;
  std::lock_guard<std::mutex> lock(objects_mutex());
  if (!live<T>().count(p)) return CUDNN_STATUS_BAD_PARAM;
  change(*p);
  return CUDNN_STATUS_SUCCESS;
}

// ---- statuses and names ------------------------------------------------------------------------

// Every status value of cudnn_graph.h with its enum name (the deprecated aliases share values with
// the names listed here, except INVALID_VALUE).
struct StatusName {
  cudnnStatus_t status;
  const char* name;
};
#define MB_STATUS(s) \
  { s, #s }
constexpr StatusName kStatusNames[] = {
    MB_STATUS(CUDNN_STATUS_SUCCESS),
    MB_STATUS(CUDNN_STATUS_NOT_INITIALIZED),
    MB_STATUS(CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH),
    MB_STATUS(CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH),
    MB_STATUS(CUDNN_STATUS_DEPRECATED),
    MB_STATUS(CUDNN_STATUS_LICENSE_ERROR),
    MB_STATUS(CUDNN_STATUS_RUNTIME_IN_PROGRESS),
    MB_STATUS(CUDNN_STATUS_RUNTIME_FP_OVERFLOW),
    MB_STATUS(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED),
    MB_STATUS(CUDNN_STATUS_BAD_PARAM),
    {static_cast<cudnnStatus_t>(2001), "CUDNN_STATUS_INVALID_VALUE"},
    MB_STATUS(CUDNN_STATUS_BAD_PARAM_NULL_POINTER),
    MB_STATUS(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER),
    MB_STATUS(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED),
    MB_STATUS(CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND),
    MB_STATUS(CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT),
    MB_STATUS(CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH),
    MB_STATUS(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH),
    MB_STATUS(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES),
    MB_STATUS(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE),
    MB_STATUS(CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH),
    MB_STATUS(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_SHAPE),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_PADDING),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API),
    MB_STATUS(CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE),
    MB_STATUS(CUDNN_STATUS_INTERNAL_ERROR),
    MB_STATUS(CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED),
    MB_STATUS(CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE),
    MB_STATUS(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED),
    MB_STATUS(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED),
    MB_STATUS(CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM),
    MB_STATUS(CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED),
    MB_STATUS(CUDNN_STATUS_EXECUTION_FAILED),
    MB_STATUS(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER),
    MB_STATUS(CUDNN_STATUS_EXECUTION_FAILED_CUBLAS),
    MB_STATUS(CUDNN_STATUS_EXECUTION_FAILED_CUDART),
    MB_STATUS(CUDNN_STATUS_EXECUTION_FAILED_CURAND),
};
#undef MB_STATUS

// CUDNN_STATUS_ALLOC_FAILED is a deprecated alias in cuDNN 9; named by value so that building with
// CUDNN_WARN_DEPRECATED stays warning-free.
constexpr cudnnStatus_t kAllocFailed = CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;

// cuDNN 9 groups statuses by thousands: 3xxx are the NOT_SUPPORTED family.
bool not_supported_family(cudnnStatus_t s) { return static_cast<int>(s) / 1000 == 3; }

// ---- the configurable algorithm table ----------------------------------------------------------

struct AlgoEntry {
  cudnnConvolutionFwdAlgo_t algo;
  cudnnStatus_t status;
  size_t workspace;
  cudnnMathType_t math;
};

// The names cudnn_conv.hpp's conv_algo_name() gives.
constexpr std::pair<std::string_view, cudnnConvolutionFwdAlgo_t> kAlgoNames[] = {
    {"implicit_gemm", CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM},
    {"implicit_precomp_gemm", CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM},
    {"gemm", CUDNN_CONVOLUTION_FWD_ALGO_GEMM},
    {"direct", CUDNN_CONVOLUTION_FWD_ALGO_DIRECT},
    {"fft", CUDNN_CONVOLUTION_FWD_ALGO_FFT},
    {"fft_tiling", CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING},
    {"winograd", CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD},
    {"winograd_nonfused", CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED},
};

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

std::optional<uint64_t> parse_number(std::string_view s) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  return std::stoull(std::string(s));
}

// A status by number or by name, with or without the CUDNN_STATUS_ prefix.
std::optional<cudnnStatus_t> parse_status(std::string_view s) {
  if (auto n = parse_number(s)) {
    for (const auto& e : kStatusNames)
      if (static_cast<uint64_t>(e.status) == *n) return e.status;
    return std::nullopt;
  }
  const std::string_view prefix = "CUDNN_STATUS_";
  std::string full = s.starts_with(prefix) ? std::string(s) : std::string(prefix) + std::string(s);
  if (full == "CUDNN_STATUS_ALLOC_FAILED") return kAllocFailed;
  for (const auto& e : kStatusNames)
    if (full == e.name) return e.status;
  return std::nullopt;
}

struct AlgoTable {
  std::vector<AlgoEntry> entries;
  std::string error;  // non-empty: MODEBENCH_SIM_CUDNN_ALGOS is malformed
};

// MODEBENCH_SIM_CUDNN_ALGOS: comma-separated `algo[:status[:workspace_bytes[:math]]]`, in the order
// Find reports them (fastest first); an empty field takes its default (SUCCESS, 0, fma). An algorithm
// may appear twice with different math, as cuDNN lists one algorithm once per math type.
AlgoTable parse_algo_table(std::string_view spec) {
  AlgoTable t;
  if (trim(spec).empty()) return t;  // set but empty: cuDNN has no algorithm at all
  for (std::string_view item : split(spec, ',')) {
    item = trim(item);
    const std::vector<std::string_view> f = split(item, ':');
    auto fail = [&](const std::string& why) {
      t.entries.clear();
      t.error = "entry '" + std::string(item) + "': " + why;
      return t;
    };
    if (f.size() > 4) return fail("more than 4 fields");
    AlgoEntry e{CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_STATUS_SUCCESS, 0, CUDNN_FMA_MATH};
    const auto named = std::find_if(std::begin(kAlgoNames), std::end(kAlgoNames),
                                    [&](const auto& a) { return a.first == trim(f[0]); });
    if (named == std::end(kAlgoNames)) return fail("unknown algorithm '" + std::string(trim(f[0])) + "'");
    e.algo = named->second;
    if (f.size() > 1 && !trim(f[1]).empty()) {
      const auto st = parse_status(trim(f[1]));
      if (!st) return fail("unknown cudnnStatus_t '" + std::string(trim(f[1])) + "'");
      e.status = *st;
    }
    if (f.size() > 2 && !trim(f[2]).empty()) {
      const auto bytes = parse_number(trim(f[2]));
      if (!bytes) return fail("workspace '" + std::string(trim(f[2])) + "' is not a byte count");
      e.workspace = static_cast<size_t>(*bytes);
    }
    if (f.size() > 3 && !trim(f[3]).empty()) {
      const std::string_view m = trim(f[3]);
      if (m == "fma")
        e.math = CUDNN_FMA_MATH;
      else if (m == "default")
        e.math = CUDNN_DEFAULT_MATH;
      else if (m == "tensor_op")
        e.math = CUDNN_TENSOR_OP_MATH;
      else
        return fail("math '" + std::string(m) + "' is not fma, default or tensor_op");
    }
    t.entries.push_back(e);
  }
  return t;
}

// The table in effect, read at every call so a test can change it between calls. A malformed one
// is reported on stderr (once per value) and makes the calls that need it answer BAD_PARAM.
std::optional<std::vector<AlgoEntry>> algo_table() {
  const char* env = std::getenv("MODEBENCH_SIM_CUDNN_ALGOS");
  if (!env)
    return std::vector<AlgoEntry>{
        {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_STATUS_SUCCESS, 0, CUDNN_FMA_MATH},
        {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_STATUS_SUCCESS, 4096, CUDNN_FMA_MATH},
        {CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, CUDNN_STATUS_SUCCESS, size_t{1} << 20, CUDNN_DEFAULT_MATH},
        {CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_STATUS_NOT_SUPPORTED, 0, CUDNN_FMA_MATH},
    };
  AlgoTable t = parse_algo_table(env);
  if (t.error.empty()) return t.entries;
  static std::mutex m;
  static std::string reported;
  std::lock_guard<std::mutex> lock(m);
  if (reported != env) {
    reported = env;
    std::fprintf(stderr, "modebench sim: malformed MODEBENCH_SIM_CUDNN_ALGOS=\"%s\": %s\n", env, t.error.c_str());
  }
  return std::nullopt;
}

// The table's entry for `algo`: the one measured with the descriptor's math if listed twice.
const AlgoEntry* find_entry(const std::vector<AlgoEntry>& table, cudnnConvolutionFwdAlgo_t algo, cudnnMathType_t math) {
  const AlgoEntry* first = nullptr;
  for (const auto& e : table) {
    if (e.algo != algo) continue;
    if (e.math == math) return &e;
    if (!first) first = &e;
  }
  return first;
}

// ---- shapes ------------------------------------------------------------------------------------

// Everything one forward convolution needs, copied out of the descriptors at call time.
struct Problem {
  cudnnTensorStruct x;
  cudnnFilterStruct w;
  cudnnConvolutionStruct conv;
  cudnnTensorStruct y;
};

// cuDNN's output size: 1 + (in + 2 pad - ((filter - 1) dilation + 1)) / stride; 0 or less when the
// dilated filter is larger than the padded input.
int64_t output_size(int64_t in, int64_t pad, int64_t filter, int64_t dilation, int64_t stride) {
  const int64_t span = in + 2 * pad - ((filter - 1) * dilation + 1);
  return span < 0 ? 0 : 1 + span / stride;
}

cudnnStatus_t forward_output_dim(const cudnnConvolutionStruct& conv, const cudnnTensorStruct& x,
                                 const cudnnFilterStruct& w, int out[4]) {
  if (!conv.set || !x.set || !w.set) return CUDNN_STATUS_BAD_PARAM;
  // Input feature maps per group must be the filter's.
  if (static_cast<int64_t>(w.c) * conv.groups != x.c) return CUDNN_STATUS_BAD_PARAM;
  const int64_t p = output_size(x.h, conv.pad_h, w.h, conv.dil_h, conv.u);
  const int64_t q = output_size(x.w, conv.pad_w, w.w, conv.dil_w, conv.v);
  if (p <= 0 || q <= 0) return CUDNN_STATUS_BAD_PARAM;  // filter larger than the padded input
  out[0] = x.n;
  out[1] = w.k;
  out[2] = static_cast<int>(p);
  out[3] = static_cast<int>(q);
  return CUDNN_STATUS_SUCCESS;
}

// The checks cudnnConvolutionForward documents on its descriptors, shared by the workspace query
// and Find so that all three agree.
cudnnStatus_t check_problem(const Problem& pr) {
  int out[4];
  if (cudnnStatus_t s = forward_output_dim(pr.conv, pr.x, pr.w, out); s != CUDNN_STATUS_SUCCESS) return s;
  if (!pr.y.set) return CUDNN_STATUS_BAD_PARAM;
  // Output channels must split evenly into the groups.
  if (pr.w.k % pr.conv.groups != 0) return CUDNN_STATUS_BAD_PARAM;
  if (pr.y.n != out[0] || pr.y.c != out[1]) return CUDNN_STATUS_BAD_PARAM;
  // Documented as NOT_SUPPORTED: "yDesc's spatial sizes do not match ... OutputDim()".
  if (pr.y.h != out[2] || pr.y.w != out[3]) return CUDNN_STATUS_NOT_SUPPORTED;
  return CUDNN_STATUS_SUCCESS;
}

std::optional<Problem> gather(cudnnTensorDescriptor_t xd, cudnnFilterDescriptor_t wd, cudnnConvolutionDescriptor_t cd,
                              cudnnTensorDescriptor_t yd) {
  auto x = snapshot(xd);
  auto w = snapshot(wd);
  auto c = snapshot(cd);
  auto y = snapshot(yd);
  if (!x || !w || !c || !y) return std::nullopt;
  return Problem{*x, *w, *c, *y};
}

size_t elements(const cudnnTensorStruct& t) { return size_t(t.n) * size_t(t.c) * size_t(t.h) * size_t(t.w); }
size_t elements(const cudnnFilterStruct& f) { return size_t(f.k) * size_t(f.c) * size_t(f.h) * size_t(f.w); }

// ---- the computation ---------------------------------------------------------------------------

// Tensor cores read fp32 operands as TF32: 10 explicit mantissa bits, rounded to nearest even.
float to_tf32(float f) {
  uint32_t b = std::bit_cast<uint32_t>(f);
  if ((b & 0x7f800000u) == 0x7f800000u) return f;  // inf and NaN pass unchanged
  b += 0x0fffu + ((b >> 13) & 1u);
  return std::bit_cast<float>(b & 0xffffe000u);
}

// NVIDIA_TF32_OVERRIDE=0 turns TF32 off in every NVIDIA library, cuDNN included.
bool tf32_allowed() {
  const char* v = std::getenv("NVIDIA_TF32_OVERRIDE");
  return !(v && std::string_view(v) == "0");
}

// Default and tensor-op math let fp32 run on tensor cores (TF32) from Ampere (cc 8.0) on; FMA math
// never does. ALLOW_CONVERSION is treated as tensor-op math (the project never sets it).
bool uses_tf32(cudnnMathType_t math) {
  return math != CUDNN_FMA_MATH && mb::sim::device_spec().cc_major >= 8 && tf32_allowed();
}

struct Job {
  Problem pr;
  const float* x;
  const float* w;
  float* y;
  const void* workspace;
  size_t workspace_used;  // what the algorithm touches
  float alpha, beta;
  bool tf32;
};

// y = conv(x, w) in NCHW, filters KCRS (GOIHW per group), by oneDNN's direct fp32 convolution.
void onednn_convolution(const Problem& pr, const float* x, const float* w, float* y) {
  using dims = dnnl::memory::dims;
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  const auto& [xs, ws, c, ys] = pr;
  const int64_t g = c.groups;
  const dims w_dims = g > 1 ? dims{g, ws.k / g, ws.c, ws.h, ws.w} : dims{ws.k, ws.c, ws.h, ws.w};
  dnnl::memory::desc x_md({xs.n, xs.c, xs.h, xs.w}, dt::f32, tag::nchw);
  dnnl::memory::desc w_md(w_dims, dt::f32, g > 1 ? tag::goihw : tag::oihw);
  dnnl::memory::desc y_md({ys.n, ys.c, ys.h, ys.w}, dt::f32, tag::nchw);
  // oneDNN counts dilation from 0 (no gap); cuDNN from 1. cuDNN pads both sides alike; whatever the
  // stride leaves over at the bottom/right is not read.
  // Layouts left to oneDNN (`any`): on plain NCHW it falls back to its reference kernels, which
  // made an SSIM's 11x11 depthwise pass take minutes; its own layouts take a reorder each way.
  const dnnl::memory::desc any_x({xs.n, xs.c, xs.h, xs.w}, dt::f32, tag::any);
  const dnnl::memory::desc any_w(w_dims, dt::f32, tag::any);
  const dnnl::memory::desc any_y({ys.n, ys.c, ys.h, ys.w}, dt::f32, tag::any);
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, any_x,
                                    any_w, any_y, {c.u, c.v}, {c.dil_h - 1, c.dil_w - 1}, {c.pad_h, c.pad_w},
                                    {c.pad_h, c.pad_w});
  dnnl::primitive_attr attr;
  attr.set_fpmath_mode(dnnl::fpmath_mode::strict);  // the rounding here is ours alone
  dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
  dnnl::stream strm(eng);
  dnnl::memory xm(x_md, eng, const_cast<float*>(x)), wm(w_md, eng, const_cast<float*>(w)), ym(y_md, eng, y);
  auto in_layout = [&](dnnl::memory& plain, const dnnl::memory::desc& want) {
    if (want == plain.get_desc()) return plain;
    dnnl::memory m(want, eng);
    dnnl::reorder(plain, m).execute(strm, plain, m);
    return m;
  };
  dnnl::memory xk = in_layout(xm, pd.src_desc()), wk = in_layout(wm, pd.weights_desc());
  dnnl::memory yk = pd.dst_desc() == y_md ? ym : dnnl::memory(pd.dst_desc(), eng);
  dnnl::convolution_forward(pd).execute(strm, {{DNNL_ARG_SRC, xk}, {DNNL_ARG_WEIGHTS, wk}, {DNNL_ARG_DST, yk}});
  if (yk != ym) dnnl::reorder(yk, ym).execute(strm, yk, ym);
  strm.wait();
}

// The enqueued work: touches device memory, so it runs only inside the stream's synchronisation.
cudaError_t run_job(const Job& j) {
  const size_t nx = elements(j.pr.x), nw = elements(j.pr.w), ny = elements(j.pr.y);
  if (!mb::sim::is_device_range(j.x, nx * sizeof(float)) || !mb::sim::is_device_range(j.w, nw * sizeof(float)) ||
      !mb::sim::is_device_range(j.y, ny * sizeof(float)) ||
      (j.workspace_used > 0 && !mb::sim::is_device_range(j.workspace, j.workspace_used)))
    return cudaErrorIllegalAddress;
  std::vector<float> x(j.x, j.x + nx), w(j.w, j.w + nw), out(ny);
  if (j.tf32) {
    for (float& v : x) v = to_tf32(v);
    for (float& v : w) v = to_tf32(v);
  }
  if (j.pr.conv.mode == CUDNN_CONVOLUTION) {
    // True convolution: the filter turned by 180 degrees, then a cross-correlation.
    const size_t plane = size_t(j.pr.w.h) * size_t(j.pr.w.w);
    for (size_t at = 0; at < nw; at += plane) std::reverse(w.begin() + at, w.begin() + at + plane);
  }
  try {
    onednn_convolution(j.pr, x.data(), w.data(), out.data());
  } catch (const std::exception& e) {  // dnnl::error, bad_alloc: an internal fault of the simulation
    std::fprintf(stderr, "modebench sim: cuDNN convolution failed in oneDNN: %s\n", e.what());
    return cudaErrorLaunchFailure;
  }
  // cuDNN does not read y when beta is 0 (it may hold NaN).
  for (size_t i = 0; i < ny; ++i) j.y[i] = j.alpha * out[i] + (j.beta != 0.0f ? j.beta * j.y[i] : 0.0f);
  return cudaSuccess;
}

cudnnStatus_t launch_status(cudaError_t e) {
  if (e == cudaSuccess) return CUDNN_STATUS_SUCCESS;
  if (e == cudaErrorInvalidResourceHandle) return CUDNN_STATUS_BAD_PARAM;  // the handle's stream is gone
  return CUDNN_STATUS_EXECUTION_FAILED;
}

#define MB_INJECT(call)                                                              \
  do {                                                                               \
    if (int f = mb::sim::injected_fault(call)) return static_cast<cudnnStatus_t>(f); \
  } while (0)

// Whether a value is one of the enum's enumerants (C enums carry any int).
bool in_enum(int v, int first, int last) { return v >= first && v <= last; }
bool valid_data_type(cudnnDataType_t t) { return in_enum(t, CUDNN_DATA_FLOAT, CUDNN_DATA_COMPLEX_FP64); }
bool valid_format(cudnnTensorFormat_t f) { return in_enum(f, CUDNN_TENSOR_NCHW, CUDNN_TENSOR_NCHW_VECT_C); }
bool valid_algo(cudnnConvolutionFwdAlgo_t a) { return in_enum(a, 0, CUDNN_CONVOLUTION_FWD_ALGO_COUNT - 1); }

// The checks cudnnSetTensor4dDescriptor and cudnnSetFilter4dDescriptor share.
cudnnStatus_t check_4d(cudnnTensorFormat_t format, cudnnDataType_t type, int a, int b, int c, int d) {
  if (!valid_format(format) || !valid_data_type(type)) return CUDNN_STATUS_BAD_PARAM;
  if (a <= 0 || b <= 0 || c <= 0 || d <= 0) return CUDNN_STATUS_BAD_PARAM;
  // Documented limit: 2 Giga-elements per tensor (checked per factor, so the product cannot overflow).
  int64_t count = 1;
  for (int dim : {a, b, c, d})
    if ((count *= dim) > std::numeric_limits<int32_t>::max()) return CUDNN_STATUS_NOT_SUPPORTED;
  if (format != CUDNN_TENSOR_NCHW || type != CUDNN_DATA_FLOAT) return CUDNN_STATUS_NOT_SUPPORTED;
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace

extern "C" {

size_t cudnnGetVersion(void) { return CUDNN_VERSION; }

// The newest compute capability with native kernels (major * 100 + minor * 10).
size_t cudnnGetMaxDeviceVersion(void) { return CUDNN_MAX_DEVICE_VERSION; }

const char* cudnnGetErrorString(cudnnStatus_t status) {
  for (const auto& e : kStatusNames)
    if (e.status == status) return e.name;
  return "CUDNN_UNKNOWN_STATUS";
}

cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) {
  MB_INJECT("cudnnCreate");
  if (!handle) return CUDNN_STATUS_BAD_PARAM;
  // cuDNN initialises the CUDA context here: no device, or none free, fails.
  const mb::sim::DeviceSpec& dev = mb::sim::device_spec();
  if (dev.count == 0 || dev.busy) return CUDNN_STATUS_NOT_INITIALIZED;
  // cuDNN for CUDA 13 has kernels from Turing (7.5) on, as CUDA 13 itself; for CUDA 12 from Maxwell.
  const int min_cc = CUDART_VERSION >= 13000 ? 75 : 50;
  if (dev.cc_major * 10 + dev.cc_minor < min_cc) return CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH;
  return create(handle);
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
  MB_INJECT("cudnnDestroy");
  if (!snapshot(handle)) return CUDNN_STATUS_BAD_PARAM;
  // Documented: "Calls cudaDeviceSynchronize", so work still queued on the handle's stream runs.
  (void)cudaDeviceSynchronize();
  return destroy(handle);
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId) {
  MB_INJECT("cudnnSetStream");
  if (!mb::sim::is_stream(streamId)) return CUDNN_STATUS_BAD_PARAM;
  return modify(handle, [&](cudnnContext& h) { h.stream = streamId; });
}

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* tensorDesc) {
  MB_INJECT("cudnnCreateTensorDescriptor");
  return create(tensorDesc);
}

cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t tensorDesc) {
  MB_INJECT("cudnnDestroyTensorDescriptor");
  return destroy(tensorDesc);
}

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format,
                                         cudnnDataType_t dataType, int n, int c, int h, int w) {
  MB_INJECT("cudnnSetTensor4dDescriptor");
  if (!snapshot(tensorDesc)) return CUDNN_STATUS_BAD_PARAM;
  if (cudnnStatus_t s = check_4d(format, dataType, n, c, h, w); s != CUDNN_STATUS_SUCCESS) return s;
  return modify(tensorDesc, [&](cudnnTensorStruct& t) { t = cudnnTensorStruct{true, n, c, h, w}; });
}

cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* filterDesc) {
  MB_INJECT("cudnnCreateFilterDescriptor");
  return create(filterDesc);
}

cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t filterDesc) {
  MB_INJECT("cudnnDestroyFilterDescriptor");
  return destroy(filterDesc);
}

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType,
                                         cudnnTensorFormat_t format, int k, int c, int h, int w) {
  MB_INJECT("cudnnSetFilter4dDescriptor");
  if (!snapshot(filterDesc)) return CUDNN_STATUS_BAD_PARAM;
  if (cudnnStatus_t s = check_4d(format, dataType, k, c, h, w); s != CUDNN_STATUS_SUCCESS) return s;
  return modify(filterDesc, [&](cudnnFilterStruct& f) { f = cudnnFilterStruct{true, k, c, h, w}; });
}

cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* convDesc) {
  MB_INJECT("cudnnCreateConvolutionDescriptor");
  return create(convDesc);
}

cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t convDesc) {
  MB_INJECT("cudnnDestroyConvolutionDescriptor");
  return destroy(convDesc);
}

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t convDesc, int pad_h, int pad_w, int u, int v,
                                              int dilation_h, int dilation_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t computeType) {
  MB_INJECT("cudnnSetConvolution2dDescriptor");
  if (!snapshot(convDesc)) return CUDNN_STATUS_BAD_PARAM;
  if (pad_h < 0 || pad_w < 0 || u <= 0 || v <= 0 || dilation_h <= 0 || dilation_w <= 0) return CUDNN_STATUS_BAD_PARAM;
  if (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION) return CUDNN_STATUS_BAD_PARAM;
  if (!valid_data_type(computeType)) return CUDNN_STATUS_BAD_PARAM;
  if (computeType != CUDNN_DATA_FLOAT) return CUDNN_STATUS_NOT_SUPPORTED;  // fp32 data computes in fp32
  return modify(convDesc, [&](cudnnConvolutionStruct& cd) {
    cd.set = true;
    cd.pad_h = pad_h;
    cd.pad_w = pad_w;
    cd.u = u;
    cd.v = v;
    cd.dil_h = dilation_h;
    cd.dil_w = dilation_w;
    cd.mode = mode;
  });
}

cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t convDesc, int groupCount) {
  MB_INJECT("cudnnSetConvolutionGroupCount");
  if (groupCount < 1) return CUDNN_STATUS_BAD_PARAM;
  return modify(convDesc, [&](cudnnConvolutionStruct& cd) { cd.groups = groupCount; });
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t mathType) {
  MB_INJECT("cudnnSetConvolutionMathType");
  if (!in_enum(mathType, CUDNN_DEFAULT_MATH, CUDNN_FMA_MATH)) return CUDNN_STATUS_BAD_PARAM;
  return modify(convDesc, [&](cudnnConvolutionStruct& cd) { cd.math = mathType; });
}

cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t convDesc,
                                                    const cudnnTensorDescriptor_t inputTensorDesc,
                                                    const cudnnFilterDescriptor_t filterDesc, int* n, int* c, int* h,
                                                    int* w) {
  MB_INJECT("cudnnGetConvolution2dForwardOutputDim");
  auto conv = snapshot(convDesc);
  auto x = snapshot(inputTensorDesc);
  auto f = snapshot(filterDesc);
  if (!conv || !x || !f || !n || !c || !h || !w) return CUDNN_STATUS_BAD_PARAM;
  int out[4];
  if (cudnnStatus_t s = forward_output_dim(*conv, *x, *f, out); s != CUDNN_STATUS_SUCCESS) return s;
  *n = out[0];
  *c = out[1];
  *h = out[2];
  *w = out[3];
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                      const cudnnFilterDescriptor_t wDesc,
                                                      const cudnnConvolutionDescriptor_t convDesc,
                                                      const cudnnTensorDescriptor_t yDesc,
                                                      cudnnConvolutionFwdAlgo_t algo, size_t* sizeInBytes) {
  MB_INJECT("cudnnGetConvolutionForwardWorkspaceSize");
  const auto pr = gather(xDesc, wDesc, convDesc, yDesc);
  if (!snapshot(handle) || !pr || !sizeInBytes) return CUDNN_STATUS_BAD_PARAM;
  if (!valid_algo(algo)) return CUDNN_STATUS_BAD_PARAM;
  if (cudnnStatus_t s = check_problem(*pr); s != CUDNN_STATUS_SUCCESS) return s;
  const auto table = algo_table();
  if (!table) return CUDNN_STATUS_BAD_PARAM;
  const AlgoEntry* e = find_entry(*table, algo, pr->conv.math);
  if (!e) return CUDNN_STATUS_NOT_SUPPORTED;  // cuDNN has no such kernel for this problem
  if (not_supported_family(e->status)) return e->status;
  // Other failures show only when the algorithm runs; its size is known.
  *sizeInBytes = e->workspace;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void* alpha, const cudnnTensorDescriptor_t xDesc,
                                      const void* x, const cudnnFilterDescriptor_t wDesc, const void* w,
                                      const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo,
                                      void* workSpace, size_t workSpaceSizeInBytes, const void* beta,
                                      const cudnnTensorDescriptor_t yDesc, void* y) {
  MB_INJECT("cudnnConvolutionForward");
  const auto h = snapshot(handle);
  const auto pr = gather(xDesc, wDesc, convDesc, yDesc);
  if (!h || !pr || !alpha || !beta || !x || !w || !y) return CUDNN_STATUS_BAD_PARAM;
  // alpha and beta are read on the host now: a device pointer there is a caller's bug.
  if (mb::sim::is_device_range(alpha, sizeof(float)) || mb::sim::is_device_range(beta, sizeof(float)))
    return CUDNN_STATUS_BAD_PARAM;
  if (!valid_algo(algo)) return CUDNN_STATUS_BAD_PARAM;
  if (cudnnStatus_t s = check_problem(*pr); s != CUDNN_STATUS_SUCCESS) return s;
  const auto table = algo_table();
  if (!table) return CUDNN_STATUS_BAD_PARAM;
  const AlgoEntry* e = find_entry(*table, algo, pr->conv.math);
  if (!e) return CUDNN_STATUS_NOT_SUPPORTED;
  if (e->status != CUDNN_STATUS_SUCCESS) return e->status;  // fails as Find reported it
  // Less workspace than the algorithm needs is BAD_PARAM on a real cuDNN.
  if (workSpaceSizeInBytes < e->workspace || (e->workspace > 0 && !workSpace)) return CUDNN_STATUS_BAD_PARAM;
  if (mb::sim::sticky_error() != cudaSuccess) return CUDNN_STATUS_EXECUTION_FAILED;
  Job job{*pr,
          static_cast<const float*>(x),
          static_cast<const float*>(w),
          static_cast<float*>(y),
          workSpace,
          e->workspace,
          *static_cast<const float*>(alpha),
          *static_cast<const float*>(beta),
          uses_tf32(pr->conv.math)};
  return launch_status(mb::sim::enqueue(h->stream, "cudnnConvolutionForward", [job] { return run_job(job); }));
}

// Reports the table's algorithms (fastest first) and runs the first usable one on the caller's
// buffers, so y holds a convolution afterwards, as it does after a real search. Host-blocking.
cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                     const void* x, const cudnnFilterDescriptor_t wDesc, const void* w,
                                                     const cudnnConvolutionDescriptor_t convDesc,
                                                     const cudnnTensorDescriptor_t yDesc, void* y,
                                                     const int requestedAlgoCount, int* returnedAlgoCount,
                                                     cudnnConvolutionFwdAlgoPerf_t* perfResults, void* workSpace,
                                                     size_t workSpaceSizeInBytes) {
  MB_INJECT("cudnnFindConvolutionForwardAlgorithmEx");
  const auto h = snapshot(handle);
  const auto pr = gather(xDesc, wDesc, convDesc, yDesc);
  if (!h || !pr || !x || !w || !y || !returnedAlgoCount || !perfResults || requestedAlgoCount < 1)
    return CUDNN_STATUS_BAD_PARAM;
  if (cudnnStatus_t s = check_problem(*pr); s != CUDNN_STATUS_SUCCESS) return s;
  const auto table = algo_table();
  if (!table) return CUDNN_STATUS_BAD_PARAM;
  if (mb::sim::sticky_error() != cudaSuccess) return CUDNN_STATUS_EXECUTION_FAILED;

  const size_t available = workSpace ? workSpaceSizeInBytes : 0;
  std::vector<cudnnConvolutionFwdAlgoPerf_t> perf;
  for (size_t i = 0; i < table->size(); ++i) {
    const AlgoEntry& e = (*table)[i];
    cudnnConvolutionFwdAlgoPerf_t p{};  // reserved[] zeroed
    p.algo = e.algo;
    // "CUDNN_STATUS_ALLOC_FAILED if ... the provided workspace is insufficient."
    p.status = e.status == CUDNN_STATUS_SUCCESS && e.workspace > available ? kAllocFailed : e.status;
    p.time = p.status == CUDNN_STATUS_SUCCESS ? static_cast<float>(i + 1) : -1.0f;
    p.memory = e.workspace;
    p.determinism = CUDNN_DETERMINISTIC;
    p.mathType = e.math;
    perf.push_back(p);
  }
  const auto first_ok =
      std::find_if(perf.begin(), perf.end(), [](const auto& p) { return p.status == CUDNN_STATUS_SUCCESS; });
  if (first_ok != perf.end()) {
    Job job{*pr,
            static_cast<const float*>(x),
            static_cast<const float*>(w),
            static_cast<float*>(y),
            workSpace,
            first_ok->memory,
            1.0f,
            0.0f,
            uses_tf32(first_ok->mathType)};
    cudaError_t e =
        mb::sim::enqueue(h->stream, "cudnnFindConvolutionForwardAlgorithmEx", [job] { return run_job(job); });
    if (e == cudaSuccess) e = cudaStreamSynchronize(h->stream);
    if (e != cudaSuccess) return launch_status(e);
  }
  const int n = std::min<int>(requestedAlgoCount, static_cast<int>(perf.size()));
  std::copy(perf.begin(), perf.begin() + n, perfResults);
  *returnedAlgoCount = n;
  return CUDNN_STATUS_SUCCESS;
}

}  // extern "C"
