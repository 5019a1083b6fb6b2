#pragma once
// A slowdown injector for measuring the regression detector's power on real runs:
// MODEBENCH_SLOWDOWN='<glob>=<fraction>[,<glob>=<fraction>...]' makes every timed call of
// an entry whose full name matches the fnmatch-style glob take `fraction` longer (the
// call runs, then the thread spins for fraction x its time, inside the measurement). Inert
// unless set; never set it for real results.
#include <string>
#include <utility>
#include <vector>

namespace mb {

using SlowdownRules = std::vector<std::pair<std::string, double>>;

// Throws BadInput on a malformed value (checked before any work).
SlowdownRules parse_slowdown(const std::string& text);
// The rules of MODEBENCH_SLOWDOWN (empty when unset), parsed again only when it changes.
const SlowdownRules& slowdown_from_env();
// The fraction for this entry: the first matching rule's, else 0.
double slowdown_for(const SlowdownRules& rules, const std::string& entry_name);
// Spins for `ms` milliseconds (real work on the core, like a slower call).
void spin_for_ms(double ms);

}  // namespace mb
