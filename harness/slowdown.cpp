#include "harness/slowdown.hpp"

#include <fnmatch.h>

#include <chrono>
#include <cstdlib>

#include "harness/status.hpp"

namespace mb {

SlowdownRules parse_slowdown(const std::string& text) {
  SlowdownRules rules;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t eq = item.rfind('=');
    char* end = nullptr;
    const double fraction = eq == std::string::npos ? -1.0 : std::strtod(item.c_str() + eq + 1, &end);
    if (eq == 0 || eq == std::string::npos || end == item.c_str() + eq + 1 || *end != '\0' || !(fraction >= 0.0) ||
        fraction > 10.0)
      throw BadInput("MODEBENCH_SLOWDOWN: '" + item + "' is not <glob>=<fraction between 0 and 10>");
    rules.emplace_back(item.substr(0, eq), fraction);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return rules;
}

const SlowdownRules& slowdown_from_env() {
  static std::string parsed_text;
  static SlowdownRules rules;
  const char* v = std::getenv("MODEBENCH_SLOWDOWN");
  const std::string text = v ? v : "";
  if (text != parsed_text) {
    rules = text.empty() ? SlowdownRules{} : parse_slowdown(text);
    parsed_text = text;
  }
  return rules;
}

double slowdown_for(const SlowdownRules& rules, const std::string& entry_name) {
  for (const auto& [glob, fraction] : rules)
    if (fnmatch(glob.c_str(), entry_name.c_str(), 0) == 0) return fraction;
  return 0.0;
}

void spin_for_ms(double ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double, std::milli>(ms);
  while (std::chrono::steady_clock::now() < until) {
  }
}

}  // namespace mb
