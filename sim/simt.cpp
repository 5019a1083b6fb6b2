// The SIMT executors of the simulated device (simt.hpp says what they emulate). What is not the
// execution strategy is one code path for both: the launch's checks, the block order, the barrier
// bookkeeping and its divergence checks (release_barriers), the error report.
//
// Fibers (every build but ThreadSanitizer's). Speed matters (an SSIM of a 1600x1066 image is 5 million CUDA threads):
// blocks run on every core, each host thread with its own __shared__ storage (thread_local) and its own fibers, which
// are reused from block to block; a kernel whose first launch reached no barrier runs its later launches as plain
// calls, one thread after another (reaching a barrier then is a launch failure that says so).
//
// OS threads (ThreadSanitizer builds, MB_SIM_OS_THREADS): fibers switching on one host thread
// would hide the races between the CUDA threads of a block, so each CUDA thread is an OS thread
// and the barriers are a mutex and a condition variable, which TSan understands: an access
// another thread makes without a __syncthreads between them is reported. Blocks run one at a
// time (one __shared__ storage), every launch with threads (no plain calls).
#include "sim/simt.hpp"

#include <algorithm>
#include <atomic>
#if MB_SIM_OS_THREADS
#include <condition_variable>
#else
#include <boost/context/fiber.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>
#endif
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "sim/launch_table.hpp"
#include "sim/sim.hpp"

namespace mb::sim {

cudaError_t launch_check(const char* kernel, dim3 grid, dim3 block);  // runtime.cpp
cudaError_t record_launch_error(cudaError_t e);                       // runtime.cpp
std::unique_lock<std::recursive_mutex> lock_runtime();                // runtime.cpp

namespace {

// A small, fast generator for the shuffled orders (splitmix64).
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[next() % i]);
  }
};

enum class Wait { none, block, warp, done };

// One CUDA thread's place in its block's barriers (both executors).
struct Lane {
  ThreadIds ids{};
  int tid = 0;
  Wait wait = Wait::done;
  uint64_t warp_calls = 0;          // warp barriers passed: lanes of one exchange must agree
  const char* sync_file = nullptr;  // where it waits at __syncthreads
  unsigned sync_line = 0;
};

struct Warp {
  uint64_t slot[2][32] = {};  // two sets, used alternately: one barrier per exchange suffices
  int lanes = 0;              // live threads of this warp in the block
};

std::vector<Warp> make_warps(int nthreads) {
  std::vector<Warp> warps(static_cast<size_t>((nthreads + 31) / 32));
  for (int t = 0; t < nthreads; ++t) warps[static_cast<size_t>(t / 32)].lanes++;
  return warps;
}

struct Launch {
  const char* kernel;
  dim3 grid, block;
  std::function<void()> body;
  uint64_t seed;
  bool direct;  // no barrier expected: plain calls (fibers only)
};

int block_threads(const Launch& l) { return static_cast<int>(l.block.x * l.block.y * l.block.z); }

// The indices of thread `t` of the launch's blocks (block_idx is set per block).
ThreadIds thread_ids(const Launch& l, int t) {
  const unsigned ut = static_cast<unsigned>(t);
  return ThreadIds{make_uint3(ut % l.block.x, ut / l.block.x % l.block.y, ut / (l.block.x * l.block.y)), uint3{},
                   l.block, l.grid};
}

// What one look at a block's lanes decided.
struct Step {
  std::string error;      // a divergent barrier
  bool finished = false;  // every thread has exited
  bool released = false;  // a barrier every participant had reached was released
  int running = 0, at_block = 0, done = 0;
};

// Releases the barriers every participant has reached (their lanes run again); a barrier that
// can never be released is a divergent one. `lane(t)` is thread t of the block.
template <class LaneAt>
Step release_barriers(int nthreads, LaneAt lane, const std::vector<Warp>& warps) {
  Step s;
  for (int t = 0; t < nthreads; ++t) {
    const Wait w = lane(t).wait;
    s.running += w == Wait::none;
    s.done += w == Wait::done;
    s.at_block += w == Wait::block;
  }
  if (s.done == nthreads) {
    s.finished = true;
    return s;
  }
  if (s.at_block > 0 && s.at_block + s.done == nthreads) {
    if (s.done > 0) {
      s.error = "__syncthreads reached by " + std::to_string(s.at_block) + " of " + std::to_string(nthreads) +
                " threads (the others exited): a divergent barrier";
      return s;
    }
    const Lane& first = lane(0);
    for (int t = 0; t < nthreads; ++t)
      if (lane(t).sync_line != first.sync_line || lane(t).sync_file != first.sync_file) {
        s.error = "threads of one block wait at different __syncthreads (lines " + std::to_string(first.sync_line) +
                  " and " + std::to_string(lane(t).sync_line) + "): a divergent barrier";
        return s;
      }
    for (int t = 0; t < nthreads; ++t) lane(t).wait = Wait::none;
    s.released = true;
  }
  for (size_t wi = 0; wi < warps.size(); ++wi) {
    const int first = static_cast<int>(wi) * 32, lanes = warps[wi].lanes;
    int waiting = 0;
    for (int t = first; t < first + lanes; ++t) waiting += lane(t).wait == Wait::warp;
    if (waiting == 0 || waiting != lanes) continue;
    const uint64_t calls = lane(first).warp_calls;
    for (int t = first; t < first + lanes; ++t) {
      if (lane(t).warp_calls != calls) {
        s.error = "lanes of one warp met at different shuffles";
        return s;
      }
      lane(t).wait = Wait::none;
    }
    s.released = true;
  }
  return s;
}

// Nothing runs and nothing was released: every thread waits for one that never comes.
std::string stuck(const Step& s) {
  return "no thread can proceed: " + std::to_string(s.at_block) + " wait at __syncthreads, " + std::to_string(s.done) +
         " exited, the rest at warp shuffles (a divergent barrier)";
}

// Why a shuffle by `lane` of a warp of `lanes` live threads with `mask` is refused ("" if not).
std::string mask_error(unsigned mask, int lane, int lanes) {
  const unsigned live = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1u);
  if (!(mask & (1u << lane)) || (mask & ~live) != 0)
    return "a shuffle mask does not name exactly live lanes including the caller";
  if (mask != live) return "partial-warp shuffle masks are not simulated";
  return {};
}

[[noreturn]] void outside_kernel() {
  std::fprintf(stderr, "modebench sim: a CUDA builtin was used outside a kernel\n");
  std::abort();
}

#if !MB_SIM_OS_THREADS

namespace ctx = boost::context;

struct Fiber : Lane {
  bool quit = false;
  ctx::fiber self;  // the suspended fiber
  ctx::fiber back;  // the scheduler, while this fiber runs
};

// What one host thread runs: the launch's blocks, with the fibers of one block reused.
struct Worker {
  const Launch* launch = nullptr;
  std::vector<std::unique_ptr<Fiber>> fibers;
  std::vector<Warp> warps;
  Fiber* running = nullptr;
  const ThreadIds* direct_ids = nullptr;  // the thread a plain call runs
  std::string error;                      // a divergent barrier or a bad mask
  bool barrier_seen = false;
};

thread_local Worker* current = nullptr;

struct DirectBarrier {};  // thrown out of a plain call that reached a barrier

void yield(Fiber& f, Wait why) {
  f.wait = why;
  f.back = std::move(f.back).resume();
}

Fiber& barrier_fiber() {
  Worker* w = current;
  if (!w) outside_kernel();
  if (!w->running) {
    if (w->direct_ids) throw DirectBarrier{};
    outside_kernel();
  }
  w->barrier_seen = true;
  return *w->running;
}

[[noreturn]] void kernel_error(Fiber& f, const std::string& why) {
  current->error = why;
  // Park the fiber for good: the scheduler sees the error and abandons the launch.
  for (;;) yield(f, Wait::done);
}

ctx::pooled_fixedsize_stack& stacks() {
  // Kernels keep small frames; the sanitizers' frames are several times larger.
#if defined(__SANITIZE_ADDRESS__)
  thread_local ctx::pooled_fixedsize_stack pool(512 * 1024);
#else
  thread_local ctx::pooled_fixedsize_stack pool(128 * 1024);
#endif
  return pool;
}

void make_fibers(Worker& w, int nthreads) {
  const Launch& l = *w.launch;
  w.fibers.clear();
  for (int t = 0; t < nthreads; ++t) {
    auto f = std::make_unique<Fiber>();
    f->tid = t;
    f->ids = thread_ids(l, t);
    Fiber* fp = f.get();
    f->self = ctx::fiber(std::allocator_arg, stacks(), [fp, &l](ctx::fiber&& sched) {
      fp->back = std::move(sched);
      // Every stack starts at the same offset within a page: shift each fiber's frames so
      // they do not all compete for the same cache sets.
      volatile char* colour = static_cast<char*>(__builtin_alloca(64 * static_cast<size_t>(fp->tid % 256 + 1)));
      colour[0] = 0;
      while (!fp->quit) {
        l.body();
        fp->wait = Wait::done;
        fp->back = std::move(fp->back).resume();  // until the next block (or quit)
      }
      return std::move(fp->back);
    });
    // Start it: it runs up to its first block.
    f->wait = Wait::done;
    w.fibers.push_back(std::move(f));
  }
}

void resume(Worker& w, Fiber& f) {
  w.running = &f;
  f.self = std::move(f.self).resume();
  w.running = nullptr;
}

void drop_fibers(Worker& w) {
  // Let each fiber leave its loop; one left suspended inside a kernel (after an error) is
  // unwound by its destructor.
  for (auto& f : w.fibers)
    if (f->self && f->wait == Wait::done && w.error.empty()) {
      f->quit = true;
      resume(w, *f);
    }
  w.fibers.clear();
}

// Runs one block with fibers; returns an error text, empty when it ran cleanly.
std::string run_block_fibers(Worker& w, uint3 block_idx, Rng& rng) {
  const int nthreads = static_cast<int>(w.fibers.size());
  for (auto& f : w.fibers) {
    f->ids.block_idx = block_idx;
    f->wait = Wait::none;
    f->warp_calls = 0;
  }
  std::vector<int> order(static_cast<size_t>(nthreads));
  std::iota(order.begin(), order.end(), 0);
  const auto lane = [&w](int t) -> Lane& { return *w.fibers[static_cast<size_t>(t)]; };
  for (;;) {
    rng.shuffle(order);
    bool ran = false;
    for (int t : order) {
      Fiber& f = *w.fibers[static_cast<size_t>(t)];
      if (f.wait != Wait::none) continue;
      resume(w, f);
      ran = true;
      if (!w.error.empty()) return w.error;
    }
    const Step s = release_barriers(nthreads, lane, w.warps);
    if (!s.error.empty()) return s.error;
    if (s.finished) return {};
    if (!ran && !s.released) return stuck(s);
  }
}

// Runs one block as plain calls, threads in a shuffled order.
std::string run_block_direct(Worker& w, uint3 block_idx, Rng& rng, std::vector<ThreadIds>& threads,
                             std::vector<int>& order) {
  for (auto& t : threads) t.block_idx = block_idx;
  rng.shuffle(order);
  try {
    for (int t : order) {
      w.direct_ids = &threads[static_cast<size_t>(t)];
      w.launch->body();
    }
  } catch (const DirectBarrier&) {
    w.direct_ids = nullptr;
    return "reached a barrier although its first launch reached none (divergent code): run with "
           "MODEBENCH_SIM_DIRECT=0 to run every launch with fibers";
  }
  w.direct_ids = nullptr;
  return {};
}

// One host thread's share of the grid: blocks taken from the shuffled list in turn.
void work(Worker& w, const std::vector<uint3>& blocks, std::atomic<size_t>& next, std::atomic<bool>& failed,
          uint64_t seed, std::string& error_out, uint3& error_block) {
  current = &w;
  const Launch& l = *w.launch;
  const int nthreads = block_threads(l);
  Rng rng{seed};
  std::vector<ThreadIds> threads;
  std::vector<int> order(static_cast<size_t>(nthreads));
  std::iota(order.begin(), order.end(), 0);
  if (l.direct) {
    for (int t = 0; t < nthreads; ++t) threads.push_back(thread_ids(l, t));
  } else {
    w.warps = make_warps(nthreads);
    make_fibers(w, nthreads);
  }
  for (;;) {
    const size_t i = next.fetch_add(1);
    if (i >= blocks.size() || failed.load()) break;
    std::string e =
        l.direct ? run_block_direct(w, blocks[i], rng, threads, order) : run_block_fibers(w, blocks[i], rng);
    if (!e.empty()) {
      w.error = e;
      if (!failed.exchange(true)) {
        error_out = e;
        error_block = blocks[i];
      }
      break;
    }
  }
  drop_fibers(w);
  current = nullptr;
}

unsigned worker_count() {
  static const unsigned n = [] {
    if (const char* v = std::getenv("MODEBENCH_SIM_THREADS")) return std::max(1u, static_cast<unsigned>(std::atoi(v)));
    return std::max(1u, std::thread::hardware_concurrency());
  }();
  return n;
}

bool direct_allowed() {
  static const bool allowed = [] {
    const char* v = std::getenv("MODEBENCH_SIM_DIRECT");
    return !(v && std::string(v) == "0");
  }();
  return allowed;
}

// Kernels whose first launch reached no barrier (by name).
std::map<std::string, bool>& barrier_free() {
  static std::map<std::string, bool> m;
  return m;
}

// Runs the blocks on the host's cores; returns an error text and the block it came from.
std::string run_blocks(Launch& l, const std::vector<uint3>& blocks, uint3& error_block) {
  auto known = barrier_free().find(l.kernel);
  l.direct = direct_allowed() && known != barrier_free().end() && known->second;
  const unsigned n = static_cast<unsigned>(std::min<size_t>(worker_count(), blocks.size()));
  std::vector<Worker> workers(n);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::string error;
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n; ++i) {
    workers[i].launch = &l;
    threads.emplace_back(work, std::ref(workers[i]), std::cref(blocks), std::ref(next), std::ref(failed), l.seed + i,
                         std::ref(error), std::ref(error_block));
  }
  workers[0].launch = &l;
  work(workers[0], blocks, next, failed, l.seed, error, error_block);
  for (auto& t : threads) t.join();
  if (error.empty() && known == barrier_free().end()) {
    bool seen = false;
    for (const Worker& w : workers) seen = seen || w.barrier_seen;
    barrier_free()[l.kernel] = !seen;
  }
  return error;
}

#else  // MB_SIM_OS_THREADS

// The running launch: its blocks one at a time, each CUDA thread of a block an OS thread that
// runs the same thread of every block in turn. All bookkeeping is under one mutex.
struct Block {
  const Launch* launch = nullptr;
  const std::vector<uint3>* blocks = nullptr;
  std::mutex m;
  std::condition_variable cv;
  std::vector<Lane> lanes;
  std::vector<Warp> warps;
  size_t index = 0;   // the running block
  bool over = false;  // the last block has finished, or the launch failed
  std::string error;
};

thread_local Block* current_block = nullptr;
thread_local Lane* current_lane = nullptr;

struct Abandon {};  // unwinds a kernel out of a failed launch

// (under the mutex) Every thread of block `index` ready to run.
void start_block(Block& b) {
  for (Lane& l : b.lanes) {
    l.ids.block_idx = (*b.blocks)[b.index];
    l.wait = Wait::none;
    l.warp_calls = 0;
  }
}

// (under the mutex) Fails the launch; every thread leaves at its next barrier.
void fail(Block& b, const std::string& why) {
  if (!b.over) b.error = why;
  b.over = true;
  b.cv.notify_all();
}

// (under the mutex) The caller's lane has reached `why`: release what can be, start the next
// block when this one has finished, or fail the launch on a divergent barrier.
void arrive(Block& b, Lane& lane, Wait why) {
  lane.wait = why;
  if (b.over) return;
  const Step s = release_barriers(
      static_cast<int>(b.lanes.size()), [&b](int t) -> Lane& { return b.lanes[static_cast<size_t>(t)]; }, b.warps);
  if (!s.error.empty()) return fail(b, s.error);
  if (!s.finished && !s.released && s.running == 0) return fail(b, stuck(s));
  if (s.finished) {
    if (++b.index == b.blocks->size())
      b.over = true;
    else
      start_block(b);
  }
  if (s.finished || s.released) b.cv.notify_all();  // else no waiting thread can go on
}

// (under the mutex) Waits until the lane's barrier is released; a failed launch unwinds the kernel.
void wait_released(Block& b, Lane& lane, std::unique_lock<std::mutex>& lock) {
  b.cv.wait(lock, [&] { return lane.wait == Wait::none || b.over; });
  if (b.over) throw Abandon{};
}

void run_lane(Block& b, size_t t) {
  current_block = &b;
  current_lane = &b.lanes[t];
  std::unique_lock<std::mutex> lock(b.m);
  for (size_t i = 0;; ++i) {
    b.cv.wait(lock, [&] { return b.over || b.index == i; });
    if (b.over) break;
    lock.unlock();
    try {
      b.launch->body();
    } catch (const Abandon&) {
    }
    lock.lock();
    arrive(b, *current_lane, Wait::done);
  }
  current_block = nullptr;
  current_lane = nullptr;
}

Block& running_block() {
  if (!current_block) outside_kernel();
  return *current_block;
}

// Runs the blocks one at a time; returns an error text and the block it came from.
std::string run_blocks(Launch& l, const std::vector<uint3>& blocks, uint3& error_block) {
  Block b;
  b.launch = &l;
  b.blocks = &blocks;
  const int nthreads = block_threads(l);
  b.lanes.resize(static_cast<size_t>(nthreads));
  for (int t = 0; t < nthreads; ++t) {
    b.lanes[static_cast<size_t>(t)].ids = thread_ids(l, t);
    b.lanes[static_cast<size_t>(t)].tid = t;
  }
  b.warps = make_warps(nthreads);
  start_block(b);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < b.lanes.size(); ++t) threads.emplace_back(run_lane, std::ref(b), t);
  for (auto& t : threads) t.join();
  if (!b.error.empty()) error_block = blocks[b.index];
  return b.error;
}

#endif  // MB_SIM_OS_THREADS

cudaError_t run_grid(Launch l) {
  static std::mutex one_grid;  // one kernel at a time: its workers own the host's cores
  std::lock_guard<std::mutex> lock(one_grid);
  std::vector<uint3> blocks;
  blocks.reserve(static_cast<size_t>(l.grid.x) * l.grid.y * l.grid.z);
  for (unsigned z = 0; z < l.grid.z; ++z)
    for (unsigned y = 0; y < l.grid.y; ++y)
      for (unsigned x = 0; x < l.grid.x; ++x) blocks.push_back(make_uint3(x, y, z));
  Rng order{l.seed};
  order.shuffle(blocks);
  uint3 error_block{};
  if (const std::string error = run_blocks(l, blocks, error_block); !error.empty()) {
    std::fprintf(stderr, "modebench sim: kernel %s, block (%u,%u,%u): %s\n", l.kernel, error_block.x, error_block.y,
                 error_block.z, error.c_str());
    return cudaErrorLaunchFailure;
  }
  return cudaSuccess;
}

uint64_t base_seed() {
  static const uint64_t s = [] {
    const char* v = std::getenv("MODEBENCH_SIM_SEED");
    return v ? std::strtoull(v, nullptr, 10) : 20261207ULL;
  }();
  return s;
}

}  // namespace

#if !MB_SIM_OS_THREADS

const ThreadIds& ids() {
  Worker* w = current;
  if (!w) outside_kernel();
  if (w->running) return w->running->ids;
  if (w->direct_ids) return *w->direct_ids;
  outside_kernel();
}

void sync_block(const char* file, unsigned line) {
  Fiber& f = barrier_fiber();
  f.sync_file = file;
  f.sync_line = line;
  yield(f, Wait::block);
}

int lane_id() {
  Worker* w = current;
  if (!w) outside_kernel();
  if (w->running) return w->running->tid % 32;
  if (w->direct_ids) throw DirectBarrier{};  // a shuffle is a warp barrier
  outside_kernel();
}

uint64_t warp_exchange(unsigned mask, uint64_t value, int src_lane) {
  Fiber& f = barrier_fiber();
  Warp& w = current->warps[static_cast<size_t>(f.tid / 32)];
  const int lane = f.tid % 32;
  if (const std::string why = mask_error(mask, lane, w.lanes); !why.empty()) kernel_error(f, why);
  const int set = static_cast<int>(f.warp_calls & 1);
  w.slot[set][lane] = value;
  ++f.warp_calls;
  yield(f, Wait::warp);  // every lane has written its value of this set
  return w.slot[set][src_lane];
}

#else  // MB_SIM_OS_THREADS

const ThreadIds& ids() {
  if (!current_lane) outside_kernel();
  return current_lane->ids;
}

void sync_block(const char* file, unsigned line) {
  Block& b = running_block();
  std::unique_lock<std::mutex> lock(b.m);
  current_lane->sync_file = file;
  current_lane->sync_line = line;
  arrive(b, *current_lane, Wait::block);
  wait_released(b, *current_lane, lock);
}

int lane_id() {
  if (!current_lane) outside_kernel();
  return current_lane->tid % 32;
}

uint64_t warp_exchange(unsigned mask, uint64_t value, int src_lane) {
  Block& b = running_block();
  Lane& me = *current_lane;
  std::unique_lock<std::mutex> lock(b.m);
  Warp& w = b.warps[static_cast<size_t>(me.tid / 32)];
  const int lane = me.tid % 32;
  if (const std::string why = mask_error(mask, lane, w.lanes); !why.empty()) {
    fail(b, why);
    throw Abandon{};
  }
  const int set = static_cast<int>(me.warp_calls & 1);
  w.slot[set][lane] = value;
  ++me.warp_calls;
  arrive(b, me, Wait::warp);
  wait_released(b, me, lock);  // every lane has written its value of this set
  return w.slot[set][src_lane];
}

#endif  // MB_SIM_OS_THREADS

void launch(const char* kernel, dim3 grid, dim3 block, cudaStream_t stream, std::function<void()> body) {
  auto lock = lock_runtime();
  if (sticky_error() != cudaSuccess) return;
  if (const cudaError_t e = launch_check(kernel, grid, block); e != cudaSuccess) return;
  if (const std::string why = check_launch_shape(kernel, block); !why.empty()) {
    std::fprintf(stderr, "modebench sim: %s\n", why.c_str());
    record_launch_error(cudaErrorInvalidConfiguration);
    return;
  }
  static uint64_t launches = 0;
  Launch l{kernel, grid, block, std::move(body), base_seed() * 0x9E3779B97F4A7C15ULL + ++launches, false};
  const std::string fault_name = std::string("launch:") + kernel;
  const cudaError_t e = enqueue(stream, kernel, [l = std::move(l), fault_name]() -> cudaError_t {
    if (const int f = injected_fault(fault_name.c_str())) return static_cast<cudaError_t>(f);
    return run_grid(l);
  });
  if (e != cudaSuccess) record_launch_error(e);
}

}  // namespace mb::sim
