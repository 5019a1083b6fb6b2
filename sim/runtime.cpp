// The simulated CUDA runtime: the calls the project makes (see docs), stricter than a GPU.
//  - Device memory is mmapped with a guard page on each side, filled with NaN bytes, and
//    PROT_NONE except while enqueued work runs: a host dereference of a device pointer faults.
//    The end of each allocation sits against its trailing guard page (16-byte aligned), so a
//    kernel reading past the last element faults instead of reading a neighbour.
//  - Every copy is checked for direction, bounds and lifetime; freed ranges stay reserved, so a
//    use after free faults, and a double free is cudaErrorInvalidValue.
//  - Each stream is a queue that runs only when it is synchronised (stream, event, device,
//    synchronous copy on the legacy stream). Pageable copies follow the documented rules: a
//    host-to-device copy stages the source at the call, a device-to-host copy returns once it
//    completed; pinned copies happen when the stream runs.
//  - An error raised by enqueued work (a kernel's illegal address) is sticky, as on a GPU.
#include <cuda_runtime.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sim/sim.hpp"
#include "sim/simt.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

struct CUstream_st {
  unsigned flags = 0;
  struct Op {
    uint64_t seq;
    const char* what;
    mb::sim::Work work;
  };
  std::deque<Op> queue;
  uint64_t next_seq = 1;
  uint64_t done_seq = 0;  // every op with seq <= done_seq has run
};

struct CUevent_st {
  unsigned flags = 0;
  cudaStream_t stream = nullptr;
  uint64_t seq = 0;  // the op that completes it; 0 = never recorded
  bool complete = false;
  double host_ms = 0.0;
  int pending = 0;  // records still queued: the event outlives its destroy until they ran
  bool destroyed = false;
};

namespace mb::sim {
namespace {

constexpr size_t kAlign = 16;
constexpr const char* kEventRecord = "cudaEventRecord";  // float4 loads need it; the tail sits against the guard page

struct Allocation {
  char* map = nullptr;  // the whole mapping, guard pages included
  size_t map_bytes = 0;
  char* user = nullptr;
  size_t bytes = 0;
  size_t inner_bytes = 0;  // the accessible pages
  char* inner = nullptr;
};

struct HostRange {
  const char* begin;
  size_t bytes;
  bool from_malloc_host;
};

struct State {
  std::recursive_mutex mutex;
  std::map<const char*, Allocation> live;   // by user pointer
  std::map<const char*, size_t> freed;      // user pointer -> bytes, for messages and double frees
  std::map<const char*, HostRange> pinned;  // by begin
  std::set<cudaStream_t> streams;
  std::set<cudaEvent_t> events;
  CUstream_st legacy;
  size_t allocated = 0;
  cudaError_t last = cudaSuccess;
  cudaError_t sticky = cudaSuccess;
  int access_depth = 0;
  int current_device = 0;
};

State& state() {
  static State* s = new State;  // never destroyed: destructors of statics may still call in
  return *s;
}

size_t page() {
  static const size_t p = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return p;
}

void protect_all(State& s, int prot) {
  for (auto& [p, a] : s.live) mprotect(a.inner, a.inner_bytes, prot);
}

// Device memory is accessible only inside this scope (enqueued work runs inside it).
class DeviceAccess {
 public:
  explicit DeviceAccess(State& s) : s_(s) {
    if (s_.access_depth++ == 0) protect_all(s_, PROT_READ | PROT_WRITE);
  }
  ~DeviceAccess() {
    if (--s_.access_depth == 0) protect_all(s_, PROT_NONE);
  }
  DeviceAccess(const DeviceAccess&) = delete;
  DeviceAccess& operator=(const DeviceAccess&) = delete;

 private:
  State& s_;
};

// The codes the headers document as leaving the context unusable ("inconsistent state", or
// the context "must be destroyed"): as on a GPU, every later call returns them.
bool is_sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorContained:
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchTimeout:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorLaunchFailure:
    case cudaErrorTensorMemoryLeak:
    case cudaErrorExternalDevice: return true;
    default: return false;
  }
}

// Every failing call leaves its error in the last-error slot; a sticky one poisons the context.
cudaError_t fail(cudaError_t e) {
  State& s = state();
  if (e == cudaSuccess) return e;
  if (is_sticky(e)) {
    if (s.sticky == cudaSuccess) s.sticky = e;
  }
  s.last = e;
  return e;
}

// The common preamble: an injected fault, then a lost context.
#define MB_SIM_ENTER(call)                                                      \
  std::lock_guard<std::recursive_mutex> lock_(state().mutex);                   \
  if (int f_ = injected_fault(call)) return fail(static_cast<cudaError_t>(f_)); \
  if (state().sticky != cudaSuccess) return state().sticky

CUstream_st* resolve(cudaStream_t s) { return s ? s : &state().legacy; }

// Runs `stream`'s queue up to and including op `until` (0: everything).
cudaError_t run_stream(CUstream_st* q, uint64_t until = 0) {
  State& s = state();
  DeviceAccess access(s);
  cudaError_t async = cudaSuccess;
  while (!q->queue.empty() && (until == 0 || q->queue.front().seq <= until)) {
    CUstream_st::Op op = std::move(q->queue.front());
    q->queue.pop_front();
    q->done_seq = op.seq;
    // A lost context runs nothing more; an event's record only settles its bookkeeping.
    if (s.sticky != cudaSuccess && op.what != kEventRecord) continue;
    const cudaError_t e = op.work();
    if (e != cudaSuccess) {
      std::fprintf(stderr, "modebench sim: %s failed on the device: %s\n", op.what, cudaGetErrorName(e));
      // A fault is sticky; an injected non-sticky error is reported once, by this synchronisation.
      if (is_sticky(e))
        s.sticky = e;
      else if (async == cudaSuccess)
        async = e;
    }
  }
  return s.sticky != cudaSuccess ? s.sticky : async;
}

// The legacy default stream synchronises with every blocking stream.
cudaError_t run_legacy() {
  State& s = state();
  for (cudaStream_t q : s.streams)
    if (!(q->flags & cudaStreamNonBlocking)) run_stream(q);
  return run_stream(&s.legacy);
}

cudaError_t run_all() {
  State& s = state();
  for (cudaStream_t q : s.streams) run_stream(q);
  return run_stream(&s.legacy);
}

cudaError_t enqueue_locked(cudaStream_t stream, const char* what, Work work) {
  State& s = state();
  if (stream && !s.streams.count(stream)) return fail(cudaErrorInvalidResourceHandle);
  CUstream_st* q = resolve(stream);
  q->queue.push_back({q->next_seq++, what, std::move(work)});
  // The legacy stream waits for blocking streams: enqueueing on it orders after them, which
  // this queue-per-stream model keeps by running them first when the legacy stream runs.
  return cudaSuccess;
}

const Allocation* allocation_of(const void* p) {
  State& s = state();
  const char* c = static_cast<const char*>(p);
  auto it = s.live.upper_bound(c);
  if (it == s.live.begin()) return nullptr;
  --it;
  const Allocation& a = it->second;
  return c >= a.user && c <= a.user + a.bytes ? &a : nullptr;
}

bool is_pinned(const void* p, size_t bytes) {
  State& s = state();
  const char* c = static_cast<const char*>(p);
  auto it = s.pinned.upper_bound(c);
  if (it == s.pinned.begin()) return false;
  --it;
  return c >= it->second.begin && c + bytes <= it->second.begin + it->second.bytes;
}

// Allocations never overlap and both maps are ordered by address, so only the neighbours of the
// range's end can overlap it: a lookup, not a scan of every allocation the process ever freed
// (this runs on every host-side copy).
bool overlaps_device(const void* p, size_t bytes) {
  State& s = state();
  const char* c = static_cast<const char*>(p);
  const char* e = c + std::max<size_t>(bytes, 1);
  auto live = s.live.lower_bound(e);  // the first at or after the end: its guard page may start before
  if (live != s.live.end() && live->second.map < e) return true;
  if (live != s.live.begin() && std::prev(live)->second.map + std::prev(live)->second.map_bytes > c) return true;
  auto freed = s.freed.lower_bound(e);
  if (freed != s.freed.begin() && std::prev(freed)->first + std::prev(freed)->second > c) return true;
  return false;
}

double host_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// The default arch list of the build (as nvcc embedded it), for the image the driver picks.
struct Image {
  int sass = 0;  // major*10+minor of the SASS that runs, 0 for none
  int ptx = 0;   // the PTX that is JIT-compiled, 0 for none
};

std::vector<std::pair<int, bool>> built_archs() {  // (arch, is_ptx)
  std::vector<std::pair<int, bool>> out;
  const std::string list = MODEBENCH_SIM_ARCHS;
  size_t i = 0;
  while (i < list.size()) {
    size_t j = list.find(' ', i);
    if (j == std::string::npos) j = list.size();
    const std::string item = list.substr(i, j - i);
    if (!item.empty()) {
      const int arch = std::atoi(item.c_str());
      out.emplace_back(arch, item.find("virtual") != std::string::npos);
    }
    i = j + 1;
  }
  return out;
}

// The driver's rule: SASS of the same major and a minor not above the device's; else the
// newest PTX not above the device, JIT-compiled. CUDA_FORCE_PTX_JIT=1 takes PTX only,
// CUDA_DISABLE_PTX_JIT=1 SASS only.
Image image_for_device() {
  const DeviceSpec& d = device_spec();
  const int cc = d.cc_major * 10 + d.cc_minor;
  const char* force = std::getenv("CUDA_FORCE_PTX_JIT");
  const char* disable = std::getenv("CUDA_DISABLE_PTX_JIT");
  const bool forced = force && std::string(force) == "1";
  const bool no_jit = disable && std::string(disable) == "1";
  Image img;
  for (auto [arch, ptx] : built_archs()) {
    if (!ptx && !forced && arch / 10 == d.cc_major && arch <= cc) img.sass = std::max(img.sass, arch);
    if (ptx && !no_jit && arch <= cc) img.ptx = std::max(img.ptx, arch);
  }
  if (img.sass) img.ptx = 0;
  return img;
}

}  // namespace

// --- the internal API (sim.hpp) ---

cudaError_t enqueue(cudaStream_t stream, const char* what, Work work) {
  std::lock_guard<std::recursive_mutex> lock(state().mutex);
  if (state().sticky != cudaSuccess) return state().sticky;
  return enqueue_locked(stream, what, std::move(work));
}

bool is_device_range(const void* p, size_t bytes) {
  std::lock_guard<std::recursive_mutex> lock(state().mutex);
  const Allocation* a = allocation_of(p);
  if (!a) return false;
  const char* c = static_cast<const char*>(p);
  return bytes <= a->bytes && c + bytes <= a->user + a->bytes;
}

bool is_stream(cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(state().mutex);
  return stream == nullptr || state().streams.count(stream) > 0;
}

cudaError_t sticky_error() { return state().sticky; }

cudaError_t launch_check(const char* kernel, dim3 grid, dim3 block) {
  const DeviceSpec& d = device_spec();
  const Image img = image_for_device();
  if (!img.sass && !img.ptx) return fail(cudaErrorNoKernelImageForDevice);
  const unsigned long long threads = 1ULL * block.x * block.y * block.z;
  if (threads == 0 || threads > static_cast<unsigned>(d.max_threads_per_block) ||
      block.x > static_cast<unsigned>(d.max_block_dim[0]) || block.y > static_cast<unsigned>(d.max_block_dim[1]) ||
      block.z > static_cast<unsigned>(d.max_block_dim[2]) || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.x > static_cast<unsigned>(d.max_grid_dim[0]) || grid.y > static_cast<unsigned>(d.max_grid_dim[1]) ||
      grid.z > static_cast<unsigned>(d.max_grid_dim[2])) {
    std::fprintf(stderr, "modebench sim: %s launched with grid (%u,%u,%u) block (%u,%u,%u): invalid configuration\n",
                 kernel, grid.x, grid.y, grid.z, block.x, block.y, block.z);
    return fail(cudaErrorInvalidConfiguration);
  }
  return cudaSuccess;
}

cudaError_t record_launch_error(cudaError_t e) { return fail(e); }

std::unique_lock<std::recursive_mutex> lock_runtime() { return std::unique_lock<std::recursive_mutex>(state().mutex); }

}  // namespace mb::sim

using namespace mb::sim;

extern "C" {

// --- errors and versions ---

cudaError_t CUDARTAPI cudaGetLastError(void) {
  std::lock_guard<std::recursive_mutex> lock(state().mutex);
  State& s = state();
  if (s.sticky != cudaSuccess) return s.sticky;
  const cudaError_t e = s.last;
  s.last = cudaSuccess;
  return e;
}

cudaError_t CUDARTAPI cudaPeekAtLastError(void) {
  std::lock_guard<std::recursive_mutex> lock(state().mutex);
  return state().sticky != cudaSuccess ? state().sticky : state().last;
}

cudaError_t CUDARTAPI cudaDriverGetVersion(int* v) {
  if (!v) return fail(cudaErrorInvalidValue);
  *v = device_spec().count > 0 ? CUDART_VERSION : 0;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaRuntimeGetVersion(int* v) {
  if (!v) return fail(cudaErrorInvalidValue);
  *v = CUDART_VERSION;
  return cudaSuccess;
}

// --- devices ---

cudaError_t CUDARTAPI cudaGetDeviceCount(int* count) {
  MB_SIM_ENTER("cudaGetDeviceCount");
  if (!count) return fail(cudaErrorInvalidValue);
  *count = 0;
  const DeviceSpec& d = device_spec();
  if (d.count == 0) return fail(cudaErrorNoDevice);
  if (d.busy) return fail(cudaErrorDevicesUnavailable);
  *count = d.count;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaSetDevice(int device) {
  MB_SIM_ENTER("cudaSetDevice");
  if (device_spec().count == 0) return fail(cudaErrorNoDevice);
  if (device < 0 || device >= device_spec().count) return fail(cudaErrorInvalidDevice);
  if (device_spec().busy) return fail(cudaErrorDevicesUnavailable);
  state().current_device = device;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaGetDevice(int* device) {
  MB_SIM_ENTER("cudaGetDevice");
  if (!device) return fail(cudaErrorInvalidValue);
  *device = state().current_device;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaGetDeviceProperties(struct cudaDeviceProp* prop, int device) {
  MB_SIM_ENTER("cudaGetDeviceProperties");
  const DeviceSpec& d = device_spec();
  if (!prop) return fail(cudaErrorInvalidValue);
  if (device < 0 || device >= d.count) return fail(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof prop->name, "%s", d.name.c_str());
  prop->major = d.cc_major;
  prop->minor = d.cc_minor;
  prop->totalGlobalMem = d.memory_bytes;
  prop->multiProcessorCount = d.multiprocessors;
  prop->maxThreadsPerBlock = d.max_threads_per_block;
  for (int i = 0; i < 3; ++i) {
    prop->maxThreadsDim[i] = d.max_block_dim[i];
    prop->maxGridSize[i] = d.max_grid_dim[i];
  }
  prop->sharedMemPerBlock = d.shared_per_block;
  prop->regsPerBlock = d.registers_per_block;
  prop->warpSize = d.warp_size;
  prop->pciDeviceID = device;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaDeviceGetAttribute(int* value, enum cudaDeviceAttr attr, int device) {
  MB_SIM_ENTER("cudaDeviceGetAttribute");
  const DeviceSpec& d = device_spec();
  if (!value) return fail(cudaErrorInvalidValue);
  if (device < 0 || device >= d.count) return fail(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrComputeCapabilityMajor: *value = d.cc_major; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *value = d.cc_minor; return cudaSuccess;
    case cudaDevAttrMaxThreadsPerBlock: *value = d.max_threads_per_block; return cudaSuccess;
    case cudaDevAttrMultiProcessorCount: *value = d.multiprocessors; return cudaSuccess;
    case cudaDevAttrWarpSize: *value = d.warp_size; return cudaSuccess;
    default: return fail(cudaErrorInvalidValue);  // the project asks for no other attribute
  }
}

cudaError_t CUDARTAPI cudaDeviceGetPCIBusId(char* pci, int len, int device) {
  MB_SIM_ENTER("cudaDeviceGetPCIBusId");
  if (!pci || len <= 0) return fail(cudaErrorInvalidValue);
  if (device < 0 || device >= device_spec().count) return fail(cudaErrorInvalidDevice);
  std::snprintf(pci, static_cast<size_t>(len), "0000:%02x:00.0", device);
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaDeviceSynchronize(void) {
  MB_SIM_ENTER("cudaDeviceSynchronize");
  return fail(run_all());
}

cudaError_t CUDARTAPI cudaMemGetInfo(size_t* free_bytes, size_t* total) {
  MB_SIM_ENTER("cudaMemGetInfo");
  if (!free_bytes || !total) return fail(cudaErrorInvalidValue);
  *total = device_spec().memory_bytes;
  *free_bytes = *total - std::min(*total, state().allocated);
  return cudaSuccess;
}

// --- memory ---

cudaError_t CUDARTAPI cudaMalloc(void** ptr, size_t bytes) {
  MB_SIM_ENTER("cudaMalloc");
  if (!ptr) return fail(cudaErrorInvalidValue);
  *ptr = nullptr;
  State& s = state();
  if (device_spec().count == 0) return fail(cudaErrorNoDevice);
  if (bytes == 0) return cudaSuccess;  // documented: a null pointer and success
  const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  if (rounded < bytes || rounded > device_spec().memory_bytes - std::min(device_spec().memory_bytes, s.allocated))
    return fail(cudaErrorMemoryAllocation);
  const size_t inner = (rounded + page() - 1) / page() * page();
  Allocation a;
  a.map_bytes = inner + 2 * page();
  void* m = mmap(nullptr, a.map_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return fail(cudaErrorMemoryAllocation);
  a.map = static_cast<char*>(m);
  a.inner = a.map + page();
  a.inner_bytes = inner;
  a.user = a.inner + (inner - rounded);
  a.bytes = bytes;
  // NaN bytes: what a kernel reads before anything wrote it cannot pass validation.
  mprotect(a.inner, inner, PROT_READ | PROT_WRITE);
  std::memset(a.inner, 0xFF, inner);
#if defined(__SANITIZE_ADDRESS__)
  ASAN_POISON_MEMORY_REGION(a.inner, static_cast<size_t>(a.user - a.inner));
  ASAN_POISON_MEMORY_REGION(a.user + bytes, rounded - bytes);
#endif
  if (s.access_depth == 0) mprotect(a.inner, inner, PROT_NONE);
  s.live[a.user] = a;
  s.allocated += rounded;
  *ptr = a.user;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaFree(void* ptr) {
  MB_SIM_ENTER("cudaFree");
  if (!ptr) return cudaSuccess;
  State& s = state();
  auto it = s.live.find(static_cast<const char*>(ptr));
  if (it == s.live.end()) {
    std::fprintf(stderr, "modebench sim: cudaFree of %p: %s\n", ptr,
                 s.freed.count(static_cast<const char*>(ptr)) ? "already freed (double free)"
                                                              : "not the start of a device allocation");
    return fail(cudaErrorInvalidValue);
  }
  // cudaFree waits for the device: work enqueued before it may still use the memory.
  if (const cudaError_t e = run_all(); e != cudaSuccess) return fail(e);
  Allocation a = it->second;
  s.live.erase(it);
  s.allocated -= (a.bytes + kAlign - 1) / kAlign * kAlign;
  // The range stays reserved and inaccessible: a later use of the pointer faults.
  mprotect(a.inner, a.inner_bytes, PROT_NONE);
  madvise(a.inner, a.inner_bytes, MADV_DONTNEED);
  s.freed[a.user] = a.bytes;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaMallocHost(void** ptr, size_t bytes) {
  MB_SIM_ENTER("cudaMallocHost");
  if (!ptr) return fail(cudaErrorInvalidValue);
  void* p = std::aligned_alloc(4096, std::max<size_t>((bytes + 4095) / 4096 * 4096, 4096));
  if (!p) return fail(cudaErrorMemoryAllocation);
  state().pinned[static_cast<const char*>(p)] = HostRange{static_cast<const char*>(p), bytes, true};
  *ptr = p;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaFreeHost(void* ptr) {
  MB_SIM_ENTER("cudaFreeHost");
  if (!ptr) return cudaSuccess;
  auto it = state().pinned.find(static_cast<const char*>(ptr));
  if (it == state().pinned.end() || !it->second.from_malloc_host) return fail(cudaErrorInvalidValue);
  if (const cudaError_t e = run_all(); e != cudaSuccess) return fail(e);
  state().pinned.erase(it);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaHostRegister(void* ptr, size_t bytes, unsigned int flags) {
  MB_SIM_ENTER("cudaHostRegister");
  (void)flags;
  if (!ptr || bytes == 0 || overlaps_device(ptr, bytes)) return fail(cudaErrorInvalidValue);
  State& s = state();
  const char* c = static_cast<const char*>(ptr);
  for (auto& [b, r] : s.pinned)
    if (c < r.begin + r.bytes && c + bytes > r.begin) return fail(cudaErrorHostMemoryAlreadyRegistered);
  s.pinned[c] = HostRange{c, bytes, false};
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaHostUnregister(void* ptr) {
  MB_SIM_ENTER("cudaHostUnregister");
  auto it = state().pinned.find(static_cast<const char*>(ptr));
  if (it == state().pinned.end() || it->second.from_malloc_host) return fail(cudaErrorHostMemoryNotRegistered);
  // Unregistering waits for copies in flight from the range, as the driver does.
  if (const cudaError_t e = run_all(); e != cudaSuccess) return fail(e);
  state().pinned.erase(it);
  return cudaSuccess;
}

}  // extern "C"

namespace mb::sim {
namespace {

// Validates one copy and returns the work that performs it (nullptr work: the error in *error).
cudaError_t check_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind& kind) {
  const bool dst_dev = allocation_of(dst) != nullptr, src_dev = allocation_of(src) != nullptr;
  if (kind == cudaMemcpyDefault)
    kind = dst_dev ? (src_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                   : (src_dev ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  const bool want_dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool want_src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return cudaErrorInvalidValue;
  const char* why = nullptr;
  if (want_dst_dev && !is_device_range(dst, bytes))
    why = dst_dev ? "runs past the end of the destination allocation" : "destination is not device memory";
  else if (want_src_dev && !is_device_range(src, bytes))
    why = src_dev ? "runs past the end of the source allocation" : "source is not device memory";
  else if (!want_dst_dev && overlaps_device(dst, bytes))
    why = "destination is device memory but the kind says host";
  else if (!want_src_dev && overlaps_device(src, bytes))
    why = "source is device memory but the kind says host";
  if (why) {
    std::fprintf(stderr, "modebench sim: copy of %zu bytes (kind %d): %s\n", bytes, static_cast<int>(kind), why);
    return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}

// The copy as stream work: at run time the device ranges must still be live.
Work copy_work(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, bool dst_pinned_check,
               bool src_pinned_check) {
  return [=]() -> cudaError_t {
    const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if ((dst_dev && !is_device_range(dst, bytes)) || (src_dev && !is_device_range(src, bytes))) {
      std::fprintf(stderr, "modebench sim: copy ran after its device memory was freed\n");
      return cudaErrorIllegalAddress;
    }
    if ((dst_pinned_check && !is_pinned(dst, bytes)) || (src_pinned_check && !is_pinned(src, bytes))) {
      std::fprintf(stderr, "modebench sim: asynchronous copy ran after its host memory was unpinned\n");
      return cudaErrorIllegalAddress;
    }
    std::memmove(dst, src, bytes);
    return cudaSuccess;
  };
}

cudaError_t memcpy_async(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  State& s = state();
  if (stream && !s.streams.count(stream)) return fail(cudaErrorInvalidResourceHandle);
  if (const cudaError_t e = check_copy(dst, src, bytes, kind); e != cudaSuccess) return fail(e);
  if (bytes == 0) return cudaSuccess;
  CUstream_st* q = resolve(stream);
  if (kind == cudaMemcpyHostToHost) {  // documented: fully synchronous
    if (const cudaError_t e = stream ? run_stream(q) : run_legacy(); e != cudaSuccess) return fail(e);
    std::memmove(dst, src, bytes);
    return cudaSuccess;
  }
  if (kind == cudaMemcpyHostToDevice && !is_pinned(src, bytes)) {
    // Pageable source: staged at the call, so the caller may reuse it at once.
    auto staged =
        std::make_shared<std::vector<char>>(static_cast<const char*>(src), static_cast<const char*>(src) + bytes);
    Work w = [staged, dst, bytes]() -> cudaError_t {
      if (!is_device_range(dst, bytes)) return cudaErrorIllegalAddress;
      std::memcpy(dst, staged->data(), bytes);
      return cudaSuccess;
    };
    return fail(enqueue_locked(stream, "cudaMemcpyAsync (host to device)", std::move(w)));
  }
  const bool pageable_dst = kind == cudaMemcpyDeviceToHost && !is_pinned(dst, bytes);
  Work w =
      copy_work(dst, src, bytes, kind, kind == cudaMemcpyDeviceToHost && !pageable_dst, kind == cudaMemcpyHostToDevice);
  if (const cudaError_t e = enqueue_locked(stream, "cudaMemcpyAsync", std::move(w)); e != cudaSuccess) return fail(e);
  // Pageable destination: the call returns only once the copy completed.
  if (pageable_dst) return fail(stream ? run_stream(q, q->next_seq - 1) : run_legacy());
  return cudaSuccess;
}

}  // namespace
}  // namespace mb::sim

extern "C" {

cudaError_t CUDARTAPI cudaMemcpy(void* dst, const void* src, size_t bytes, enum cudaMemcpyKind kind) {
  MB_SIM_ENTER("cudaMemcpy");
  // The legacy stream: waits for it (and the blocking streams), copies, returns when done.
  if (const cudaError_t e = check_copy(dst, src, bytes, kind); e != cudaSuccess) return fail(e);
  if (const cudaError_t e = run_legacy(); e != cudaSuccess) return fail(e);
  if (bytes == 0) return cudaSuccess;
  DeviceAccess access(state());
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaMemcpyAsync(void* dst, const void* src, size_t bytes, enum cudaMemcpyKind kind,
                                      cudaStream_t stream) {
  MB_SIM_ENTER("cudaMemcpyAsync");
  return memcpy_async(dst, src, bytes, kind, stream);
}

cudaError_t CUDARTAPI cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t stream) {
  MB_SIM_ENTER("cudaMemsetAsync");
  if (count == 0) return cudaSuccess;
  if (!is_device_range(ptr, count)) {
    std::fprintf(stderr, "modebench sim: cudaMemsetAsync of %zu bytes at %p: not inside one device allocation\n", count,
                 ptr);
    return fail(cudaErrorInvalidValue);
  }
  return fail(enqueue_locked(stream, "cudaMemsetAsync", [=]() -> cudaError_t {
    if (!is_device_range(ptr, count)) return cudaErrorIllegalAddress;
    std::memset(ptr, value, count);
    return cudaSuccess;
  }));
}

// --- streams and events ---

cudaError_t CUDARTAPI cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  MB_SIM_ENTER("cudaStreamCreateWithFlags");
  if (!stream || (flags & ~static_cast<unsigned>(cudaStreamNonBlocking)) != 0) return fail(cudaErrorInvalidValue);
  auto* q = new CUstream_st;
  q->flags = flags;
  state().streams.insert(q);
  *stream = q;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaStreamDestroy(cudaStream_t stream) {
  MB_SIM_ENTER("cudaStreamDestroy");
  State& s = state();
  if (!stream || !s.streams.count(stream)) return fail(cudaErrorInvalidResourceHandle);
  // Documented: work still queued completes before the resources go.
  const cudaError_t e = run_stream(stream);
  s.streams.erase(stream);
  delete stream;
  return fail(e);
}

cudaError_t CUDARTAPI cudaStreamSynchronize(cudaStream_t stream) {
  MB_SIM_ENTER("cudaStreamSynchronize");
  if (stream && !state().streams.count(stream)) return fail(cudaErrorInvalidResourceHandle);
  return fail(stream ? run_stream(stream) : run_legacy());
}

cudaError_t CUDARTAPI cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  MB_SIM_ENTER("cudaEventCreateWithFlags");
  const unsigned known = cudaEventBlockingSync | cudaEventDisableTiming | cudaEventInterprocess;
  if (!event || (flags & ~known) != 0) return fail(cudaErrorInvalidValue);
  auto* e = new CUevent_st;
  e->flags = flags;
  state().events.insert(e);
  *event = e;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, 0); }

cudaError_t CUDARTAPI cudaEventDestroy(cudaEvent_t event) {
  MB_SIM_ENTER("cudaEventDestroy");
  if (!event || !state().events.count(event)) return fail(cudaErrorInvalidResourceHandle);
  state().events.erase(event);
  // Documented: a destroy with a record still queued completes that record first.
  if (event->pending == 0)
    delete event;
  else
    event->destroyed = true;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  MB_SIM_ENTER("cudaEventRecord");
  State& s = state();
  if (!event || !s.events.count(event)) return fail(cudaErrorInvalidResourceHandle);
  if (stream && !s.streams.count(stream)) return fail(cudaErrorInvalidResourceHandle);
  CUstream_st* q = resolve(stream);
  event->stream = stream;
  event->complete = false;
  event->seq = q->next_seq;
  const uint64_t seq = event->seq;
  ++event->pending;
  const cudaError_t e = enqueue_locked(stream, kEventRecord, [event, seq]() -> cudaError_t {
    if (event->seq == seq && sticky_error() == cudaSuccess) {  // a later record of the same event supersedes this one
      event->complete = true;
      event->host_ms = host_ms();
    }
    if (--event->pending == 0 && event->destroyed) delete event;
    return cudaSuccess;
  });
  if (e != cudaSuccess) --event->pending;
  return fail(e);
}

cudaError_t CUDARTAPI cudaEventSynchronize(cudaEvent_t event) {
  MB_SIM_ENTER("cudaEventSynchronize");
  State& s = state();
  if (!event || !s.events.count(event)) return fail(cudaErrorInvalidResourceHandle);
  if (event->seq == 0) return cudaSuccess;  // never recorded: nothing to wait for
  if (event->stream && !s.streams.count(event->stream)) return cudaSuccess;
  return fail(run_stream(resolve(event->stream), event->seq));
}

cudaError_t CUDARTAPI cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  MB_SIM_ENTER("cudaEventElapsedTime");
  State& s = state();
  if (!ms) return fail(cudaErrorInvalidValue);
  if (!start || !end || !s.events.count(start) || !s.events.count(end)) return fail(cudaErrorInvalidResourceHandle);
  // Documented: timing-disabled or never-recorded events are invalid handles here; one not
  // yet complete is not ready.
  if ((start->flags & cudaEventDisableTiming) || (end->flags & cudaEventDisableTiming) || start->seq == 0 ||
      end->seq == 0)
    return fail(cudaErrorInvalidResourceHandle);
  if (!start->complete || !end->complete) return fail(cudaErrorNotReady);
  *ms = static_cast<float>(end->host_ms - start->host_ms);
  return cudaSuccess;
}

// --- kernels ---

cudaError_t CUDARTAPI cudaFuncGetAttributes(struct cudaFuncAttributes* attr, const void* func) {
  MB_SIM_ENTER("cudaFuncGetAttributes");
  if (!attr || !func) return fail(cudaErrorInvalidDeviceFunction);
  const Image img = image_for_device();
  if (!img.sass && !img.ptx) return fail(cudaErrorNoKernelImageForDevice);
  *attr = cudaFuncAttributes{};
  const DeviceSpec& d = device_spec();
  // binaryVersion is the device's own once PTX was JIT-compiled for it.
  attr->binaryVersion = img.sass ? img.sass : d.cc_major * 10 + d.cc_minor;
  int ptx = 0;
  for (auto [arch, is_ptx] : built_archs())
    if (is_ptx) ptx = std::max(ptx, arch);
  attr->ptxVersion = ptx;
  attr->maxThreadsPerBlock = d.max_threads_per_block;
  return cudaSuccess;
}

}  // extern "C"
