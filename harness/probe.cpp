// Minimal probe until issue 4 lands: host facts only.
#include "harness/probe.hpp"

#include <cstdio>

#include "harness/context.hpp"

namespace mb {

int probe_main(const Selection&, const ProbeOptions&, const std::string&, const std::vector<std::string>&) {
  for (const auto& [k, v] : host_facts()) std::printf("%-18s %s\n", k.c_str(), v.c_str());
  for (const auto& [k, v] : cuda_facts()) std::printf("%-18s %s\n", k.c_str(), v.c_str());
  return 0;
}

}  // namespace mb
