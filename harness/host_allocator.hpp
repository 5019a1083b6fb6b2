#pragma once
// Host temporaries and glibc's heap. By default glibc serves a block above its mmap
// threshold with a fresh mmap and unmaps it on free; the threshold then moves with the
// process's history (it rises to the size of the last such block freed). An op whose
// temporaries are megabytes (torch's conv2d at B >= 8, its SSIM) then pays page faults
// on every call or not depending on what ran before it in the process: measured here,
// 1.6x (conv2d) and 2.5x (ssim) in one path and not in another. modebench fixes the
// thresholds once at start-up, so a timing depends on the call and not on the heap's past
// (README "Host allocator"). The environment's own malloc settings win; the context
// records which applied (host_allocator).
#include <functional>
#include <string>

namespace mb {

struct HostAllocatorPlan {
  bool settle = false;      // call mallopt with the values below
  std::string description;  // the context's host_allocator
};

// What to do, from the environment (lookup returns nullptr for an unset variable):
// MODEBENCH_HOST_ALLOCATOR=default keeps glibc's dynamic thresholds; malloc settings of
// the environment (MALLOC_*_ or GLIBC_TUNABLES glibc.malloc.*) are left as they are.
// BadInput for any other MODEBENCH_HOST_ALLOCATOR value.
HostAllocatorPlan plan_host_allocator(const std::function<const char*(const char*)>& lookup);

// Applies the plan of this process's environment (once; later calls return the same).
const std::string& settle_host_allocator();

// settle_host_allocator for a development tool: prints "host allocator: ..." on stdout and
// returns true, or prints "<tool>: error: ..." on stderr and returns false (bad input: exit 2).
bool settle_host_allocator_and_say(const char* tool);

// glibc's largest allowed M_MMAP_THRESHOLD on 64-bit (HEAP_MAX_SIZE / 2): blocks up to this
// come from the heap; larger ones are still mapped per allocation.
inline constexpr unsigned long kSettledMmapThreshold = 32ul << 20;
// Freed heap memory stays mapped up to this much: the next call's temporaries reuse it.
inline constexpr unsigned long kSettledTrimThreshold = 1ul << 30;

}  // namespace mb
