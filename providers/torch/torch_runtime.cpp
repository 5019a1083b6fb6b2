#include "providers/torch/torch_runtime.hpp"

#include <dlfcn.h>

#include <array>
#include <cstring>
#include <map>

namespace mb {
namespace {

template <class Fn>
Fn runtime_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

using IntOut = int (*)(int*);
using Attribute = int (*)(int*, int, int);
using ErrorString = const char* (*)(int);
using LastError = int (*)();
using Properties = int (*)(void*, int);

// cudaDeviceAttr values (driver_types.h; unchanged since CUDA 5).
constexpr int kAttrCcMajor = 75, kAttrCcMinor = 76;

}  // namespace

const TorchCudaRuntime& torch_cuda_runtime() {
  static const TorchCudaRuntime r = [] {
    TorchCudaRuntime out;
    const auto count = runtime_symbol<IntOut>("cudaGetDeviceCount");
    if (!count) return out;
    out.present = true;
    if (auto f = runtime_symbol<IntOut>("cudaRuntimeGetVersion")) f(&out.runtime_version);
    if (auto f = runtime_symbol<IntOut>("cudaDriverGetVersion")) f(&out.driver_version);
    out.device_count_error = count(&out.device_count);
    if (out.device_count_error != 0) {
      out.device_count = 0;
      cuda_take_last_error();
      return out;
    }
    if (out.device_count == 0) return out;
    int major = 0, minor = 0;
    if (auto attr = runtime_symbol<Attribute>("cudaDeviceGetAttribute")) {
      attr(&major, kAttrCcMajor, 0);
      attr(&minor, kAttrCcMinor, 0);
    }
    out.device_cc = major * 10 + minor;
    // cudaDeviceProp starts with char name[256] in every release; the rest of its layout varies,
    // so the call writes into room to spare.
    auto props = runtime_symbol<Properties>("cudaGetDeviceProperties_v2");
    if (!props) props = runtime_symbol<Properties>("cudaGetDeviceProperties");
    alignas(64) static std::array<char, 16384> buffer{};
    if (props && props(buffer.data(), 0) == 0) out.device_name.assign(buffer.data(), strnlen(buffer.data(), 256));
    return out;
  }();
  return r;
}

std::string cuda_error_string(int code) {
  const auto f = runtime_symbol<ErrorString>("cudaGetErrorString");
  const char* s = f ? f(code) : nullptr;
  return s ? s : "";
}

std::optional<int> cuda_error_code(const std::string& text) {
  // Every code the runtime names, once: cudaError_t values lie below 1000.
  static const std::map<std::string, int> by_text = [] {
    std::map<std::string, int> m;
    const std::string unknown = cuda_error_string(99999);
    for (int code = 1; code < 1000; ++code)
      if (std::string s = cuda_error_string(code); !s.empty() && s != unknown) m.emplace(s, code);
    return m;
  }();
  auto it = by_text.find(text);
  if (it == by_text.end()) return std::nullopt;
  return it->second;
}

int cuda_take_last_error() {
  const auto f = runtime_symbol<LastError>("cudaGetLastError");
  return f ? f() : 0;
}

}  // namespace mb
