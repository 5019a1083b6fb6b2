#include "harness/host_allocator.hpp"

#include <malloc.h>

#include <cstdio>
#include <cstdlib>

#include "harness/status.hpp"

namespace mb {

namespace {

// Which of the environment's variables set glibc's malloc, named for the context.
std::string environment_malloc_settings(const std::function<const char*(const char*)>& lookup) {
  std::string found;
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_ARENA_MAX"})
    if (const char* v = lookup(name); v && *v) found += (found.empty() ? "" : " ") + std::string(name) + "=" + v;
  if (const char* t = lookup("GLIBC_TUNABLES"); t && std::string(t).find("glibc.malloc.") != std::string::npos)
    found += (found.empty() ? "" : " ") + std::string("GLIBC_TUNABLES=") + t;
  return found;
}

}  // namespace

HostAllocatorPlan plan_host_allocator(const std::function<const char*(const char*)>& lookup) {
  const char* choice = lookup("MODEBENCH_HOST_ALLOCATOR");
  const std::string wanted = choice ? choice : "";
  if (wanted == "default") return {false, "glibc malloc, dynamic thresholds (MODEBENCH_HOST_ALLOCATOR=default)"};
  if (!wanted.empty() && wanted != "settled")
    throw BadInput("MODEBENCH_HOST_ALLOCATOR must be 'settled' (the default) or 'default', got '" + wanted + "'");
  if (const std::string env = environment_malloc_settings(lookup); !env.empty())
    return {false, "glibc malloc as the environment sets it: " + env};
  return {true, "glibc malloc, mmap_threshold " + std::to_string(kSettledMmapThreshold >> 20) +
                    " MiB, trim_threshold " + std::to_string(kSettledTrimThreshold >> 20) + " MiB (set by modebench)"};
}

const std::string& settle_host_allocator() {
  static const std::string description = [] {
    HostAllocatorPlan plan = plan_host_allocator([](const char* name) { return std::getenv(name); });
    if (plan.settle && (mallopt(M_MMAP_THRESHOLD, static_cast<int>(kSettledMmapThreshold)) != 1 ||
                        mallopt(M_TRIM_THRESHOLD, static_cast<int>(kSettledTrimThreshold)) != 1))
      plan.description = "glibc malloc, dynamic thresholds (mallopt refused the settled values)";
    return plan.description;
  }();
  return description;
}

bool settle_host_allocator_and_say(const char* tool) {
  try {
    std::printf("host allocator: %s\n", settle_host_allocator().c_str());
    return true;
  } catch (const BadInput& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool, e.what());
    return false;
  }
}

}  // namespace mb
