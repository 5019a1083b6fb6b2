#include "harness/provider.hpp"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <tuple>

#include "harness/subprocess.hpp"

namespace mb {
namespace {

using Key = std::tuple<std::string, std::string, Placement>;
std::map<Key, ProviderFactory>& factories() {
  static std::map<Key, ProviderFactory> f;
  return f;
}
std::string& provider_name() {
  static std::string name;
  return name;
}

}  // namespace

void install_provider_factory(const std::string& op, const std::string& impl, Placement where, ProviderFactory f) {
  factories()[{op, impl, where}] = std::move(f);
}

const ProviderFactory* provider_factory(const std::string& op, const std::string& impl, Placement where) {
  auto it = factories().find({op, impl, where});
  return it == factories().end() ? nullptr : &it->second;
}

void set_current_provider(const std::string& name) { provider_name() = name; }
const std::string& current_provider() { return provider_name(); }

std::string provider_executable(const std::string& provider) {
  namespace fs = std::filesystem;
  const fs::path exe = fs::path(self_executable()).parent_path() / ("modebench-" + provider);
  return ::access(exe.c_str(), X_OK) == 0 ? exe.string() : std::string();
}

std::string provider_unavailable_reason(const std::string& provider) {
  return "built without the " + provider + " provider (modebench-" + provider +
         " not found next to modebench: MODEBENCH_TORCH=OFF, or no libtorch found at configure time)";
}

}  // namespace mb
