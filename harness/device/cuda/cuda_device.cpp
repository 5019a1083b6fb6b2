#include "harness/device/cuda/cuda_device.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>

#include "cuda_rules/arch.hpp"
#include "harness/build_info.hpp"
#include "harness/device/cuda/cuda_check.hpp"
#include "harness/device/cuda_errors.hpp"
#include "harness/modes/ptx_jit.hpp"
#include "harness/status.hpp"
#include "harness/test_trace.hpp"

namespace mb {

CudaDevice::CudaDevice(int device_id) : id_(device_id) {
  check_cuda(cudaSetDevice(id_), "cudaSetDevice");
  cudaDeviceProp prop{};
  check_cuda(cudaGetDeviceProperties(&prop, id_), "cudaGetDeviceProperties");
  cc_major_ = prop.major;
  cc_minor_ = prop.minor;
  total_mem_ = prop.totalGlobalMem;
  name_ = prop.name;
  check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
}

CudaDevice::~CudaDevice() {
  // Teardown errors are ignored: nothing useful can be done at exit.
  if (cudnn_) cudnnDestroy(cudnn_);
  if (cublas_) cublasDestroy(cublas_);
  if (stream_) cudaStreamDestroy(stream_);
}

std::string CudaDevice::description() const {
  return std::string(is_simulated() ? "simulated " : "") + "CUDA device " + std::to_string(id_) + ": " + name_ +
         " (sm_" + std::to_string(compute_capability()) + ")";
}

void* CudaDevice::malloc_device(size_t bytes) {
  void* p = nullptr;
  check_cuda(cudaMalloc(&p, bytes), "cudaMalloc");
  return p;
}

void CudaDevice::free_device(void* p) noexcept { cudaFree(p); }

void CudaDevice::pin(void* host, size_t bytes) {
  check_cuda(cudaHostRegister(host, bytes, cudaHostRegisterDefault), "cudaHostRegister");
}

void CudaDevice::unpin(void* host) noexcept { cudaHostUnregister(host); }

namespace {
cudaMemcpyKind to_cuda(CopyKind k) {
  return k == CopyKind::host_to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
}
}  // namespace

void CudaDevice::copy(void* dst, const void* src, size_t bytes, CopyKind kind) {
  check_cuda(cudaMemcpyAsync(dst, src, bytes, to_cuda(kind), stream_), "cudaMemcpy");
  check_cuda(cudaStreamSynchronize(stream_), "cudaMemcpy (synchronize)");
}

void CudaDevice::copy_async(void* dst, const void* src, size_t bytes, CopyKind kind) {
  check_cuda(cudaMemcpyAsync(dst, src, bytes, to_cuda(kind), stream_), "cudaMemcpyAsync");
}

void CudaDevice::synchronize() { check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

void CudaDevice::check_launch(const char* what) { check_cuda(cudaGetLastError(), what); }

void CudaDevice::clear_stale_error() {
  // Only a non-sticky error can be left here: a sticky one marked the device lost already.
  const cudaError_t stale = cudaGetLastError();
  if (is_sticky_cuda_error(static_cast<int>(stale))) check_cuda(stale, "error left by an earlier entry");
}

uint64_t CudaDevice::record_marker() {
  if (markers_.empty())
    for (size_t i = 0; i < kMarkerRing; ++i) markers_.push_back(std::make_unique<CudaEvent>(cudaEventDisableTiming));
  const uint64_t m = next_marker_++;
  markers_[m % kMarkerRing]->record(stream_);
  return m;
}

void CudaDevice::wait_marker(uint64_t marker) {
  if (marker == 0 || marker >= next_marker_)
    throw DeviceFailure(ErrorClass::other, "wait_marker: marker " + std::to_string(marker) + " was never recorded");
  markers_[marker % kMarkerRing]->synchronize();
}

cublasHandle_t CudaDevice::cublas() {
  if (!cublas_) {
    cublasHandle_t h = nullptr;
    check_cublas(cublasCreate(&h), "cublasCreate");
    std::unique_ptr<cublasContext, cublasStatus_t (*)(cublasHandle_t)> guard(h, cublasDestroy);
    check_cublas(cublasSetStream(h, stream_), "cublasSetStream");
    cublas_ = guard.release();
  }
  return cublas_;
}

cudnnHandle_t CudaDevice::cudnn() {
  if (!cudnn_) {
    cudnnHandle_t h = nullptr;
    check_cudnn(cudnnCreate(&h), "cudnnCreate");
    std::unique_ptr<cudnnContext, cudnnStatus_t (*)(cudnnHandle_t)> guard(h, cudnnDestroy);
    check_cudnn(cudnnSetStream(h, stream_), "cudnnSetStream");
    cudnn_ = guard.release();
  }
  return cudnn_;
}

CudaDevice& as_cuda(Device& d) {
  if (auto* c = dynamic_cast<CudaDevice*>(&d)) return *c;
  throw Unavailable("gpu impls need the CUDA device, not " + d.description());
}

CudaEvent::CudaEvent(unsigned flags) { check_cuda(cudaEventCreateWithFlags(&ev_, flags), "cudaEventCreate"); }
CudaEvent::~CudaEvent() {
  if (ev_) cudaEventDestroy(ev_);
}
void CudaEvent::record(cudaStream_t s) { check_cuda(cudaEventRecord(ev_, s), "cudaEventRecord"); }
void CudaEvent::synchronize() { check_cuda(cudaEventSynchronize(ev_), "cudaEventSynchronize"); }
float CudaEvent::elapsed_since(const CudaEvent& start) const {
  float ms = 0.0f;
  check_cuda(cudaEventElapsedTime(&ms, start.ev_, ev_), "cudaEventElapsedTime");
  return ms;
}

double time_on_stream_ms(CudaDevice& dev, const std::function<void()>& enqueue) {
  CudaEvent start, stop;
  start.record(dev.stream());
  enqueue();
  dev.check_launch("kernel launch");
  stop.record(dev.stream());
  stop.synchronize();  // asynchronous faults of the enqueued work surface here
  return stop.elapsed_since(start);
}

std::string kernel_image_label(const void* kernel_fn) {
  cudaFuncAttributes attr{};
  check_cuda(cudaFuncGetAttributes(&attr, kernel_fn), "cudaFuncGetAttributes");
  int dev = 0, major = 0, minor = 0;
  check_cuda(cudaGetDevice(&dev), "cudaGetDevice");
  check_cuda(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev), "cudaDeviceGetAttribute");
  check_cuda(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev), "cudaDeviceGetAttribute");
  static const std::vector<ArchTarget> built = parse_arch_list(build_info::cuda_archs);
  return "image=" +
         image_that_ran(attr.binaryVersion, attr.ptxVersion, major * 10 + minor, built, in_forced_jit_process());
}

const CudaAvailability& cuda_availability() {
  static const CudaAvailability a = [] {
    CudaAvailability out;
    const cudaError_t e = cudaGetDeviceCount(&out.device_count);
    if (e == cudaSuccess) {
      if (out.device_count == 0) out.unavailable = "no CUDA device";
      return out;
    }
    out.device_count = 0;
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    if (!lib) lib = dlopen("libcuda.so.1", RTLD_LAZY);
    const bool loadable = lib != nullptr;
    if (lib) dlclose(lib);
    if (e == cudaErrorDevicesUnavailable)
      out.busy = std::string("every CUDA device is held by another process or refuses new work: ") +
                 cudaGetErrorName(e) + ": " + cudaGetErrorString(e);
    else if (auto why = cuda_unavailable_reason(static_cast<int>(e), loadable, driver, runtime))
      out.unavailable = *why;
    else
      out.failure =
          DeviceFailure(classify_cuda_error(static_cast<int>(e)),
                        std::string("cudaGetDeviceCount: ") + cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
    return out;
  }();
  return a;
}

std::string cublas_version() {
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) != CUBLAS_STATUS_SUCCESS ||
      cublasGetProperty(MINOR_VERSION, &minor) != CUBLAS_STATUS_SUCCESS ||
      cublasGetProperty(PATCH_LEVEL, &patch) != CUBLAS_STATUS_SUCCESS)
    return "none";
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

// The process's device 0, opened on first use. A failure to open is remembered
// so every entry reports the same reason without retrying. The device is never
// destroyed: at exit the CUDA runtime may already be torn down, and destroying
// handles then crashes; the driver releases everything with the process.
Device& cuda_device() {
  test_trace("device");  // where a context is created (tests check the children ended before)
  const CudaAvailability& a = cuda_availability();
  if (a.failure) throw *a.failure;
  if (!a.busy.empty()) throw DeviceBusy(a.busy);
  if (!a.unavailable.empty()) throw Unavailable(a.unavailable);
  static std::once_flag once;
  static CudaDevice* device = nullptr;
  static std::exception_ptr failure;  // DeviceFailure, or DeviceBusy when the device is held
  std::call_once(once, [] {
    try {
      device = new CudaDevice(0);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  if (failure) std::rethrow_exception(failure);
  return *device;
}

}  // namespace mb
