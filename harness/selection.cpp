#include "harness/selection.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <regex>
#include <set>
#include <type_traits>

#include "cpu_ref/checked_size.hpp"
#include "harness/status.hpp"

namespace mb {
namespace {

bool selected(const std::vector<std::string>& wanted, const std::string& v) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), v) != wanted.end();
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

double physical_memory_bytes() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

// A value listed twice is most likely a typo (--batches 8,8,8 wrote three records of one
// series, --modes cpu,cpu ran every entry twice): refused, not silently dropped.
template <class T>
void refuse_repeats(const std::string& flag, const std::vector<T>& values) {
  std::set<T> seen;
  for (const T& v : values)
    if (!seen.insert(v).second) {
      std::string text;
      if constexpr (std::is_same_v<T, std::string>)
        text = v;
      else
        text = std::to_string(v);
      throw BadInput(flag + " lists " + text + " more than once");
    }
}

std::string megabytes(double bytes) {
  char text[64];
  std::snprintf(text, sizeof text, "%.0f MB", bytes / 1e6);
  return text;
}

}  // namespace

std::string Entry::name() const {
  return op_case->id() + "/mode:" + std::string(to_string(mode)) + "/impl:" + impl + "/batch:" + std::to_string(batch);
}

std::vector<std::string> impls_for(const OpCase& c, Mode m) { return spec_of(m).impl_names(c); }

std::optional<std::string> benchmark_flag(const std::vector<std::string>& benchmark_flags, const std::string& name) {
  std::optional<std::string> value;
  for (const std::string& f : benchmark_flags)
    if (f == name)
      value = "";
    else if (f.rfind(name + "=", 0) == 0)
      value = f.substr(name.size() + 1);
  return value;
}

std::vector<Entry> filter_entries(std::vector<Entry> entries, const std::vector<std::string>& benchmark_flags) {
  const std::string flag = "--benchmark_filter=";
  std::string pattern = benchmark_flag(benchmark_flags, "--benchmark_filter").value_or("");
  const bool negated = !pattern.empty() && pattern.front() == '-';
  if (negated) pattern.erase(0, 1);
  if (pattern.empty() || pattern == "all") return entries;
  std::regex re;
  try {
    re = std::regex(pattern, std::regex::extended);
  } catch (const std::regex_error&) {
    throw BadInput("malformed " + flag + pattern);
  }
  std::erase_if(entries, [&](const Entry& e) { return std::regex_search(e.name(), re) == negated; });
  return entries;
}

Profile parse_profile(const std::string& s) {
  if (s == "quick") return Profile::quick;
  if (s == "full") return Profile::full;
  throw BadInput("unknown profile '" + s + "' (known: quick, full)");
}

std::string to_string(Profile p) { return p == Profile::quick ? "quick" : "full"; }

std::vector<Entry> expand(const Registry& reg, const Selection& sel) {
  refuse_repeats("--ops", sel.ops);
  refuse_repeats("--modes", sel.modes);
  refuse_repeats("--impls", sel.impls);
  refuse_repeats("--cases", sel.cases);
  refuse_repeats("--batches", sel.batches);
  const std::vector<std::string> known_ops = reg.ops();
  for (const auto& op : sel.ops)
    if (!selected(known_ops, op)) throw BadInput("unknown op '" + op + "' (known: " + join(known_ops) + ")");

  std::vector<Mode> modes;
  for (const auto& m : sel.modes) {
    auto parsed = parse_mode(m);
    if (!parsed) {
      std::vector<std::string> known;
      for (Mode k : all_modes()) known.emplace_back(to_string(k));
      throw BadInput("unknown mode '" + m + "' (known: " + join(known) + ")");
    }
    modes.push_back(*parsed);
  }
  if (modes.empty()) modes = all_modes();

  for (int64_t b : sel.batches)
    if (b <= 0) throw BadInput("batch must be positive, got " + std::to_string(b));

  // Ad-hoc cases (--shape), built through their ops' factories; with them, the named cases run
  // only where --cases names them.
  refuse_repeats("--shape", sel.shapes);
  std::vector<const OpCase*> adhoc;
  for (const auto& text : sel.shapes) {
    const OpCase& c = reg.adhoc_case(text);
    if (!selected(sel.ops, c.op()))
      throw BadInput("--shape '" + text + "': op " + c.op() + " is not among --ops " + join(sel.ops));
    adhoc.push_back(&c);
  }

  std::vector<const OpCase*> cases;
  std::set<std::string> matched_cases;
  for (const auto& c : reg.cases()) {
    if (!selected(sel.ops, c->op())) continue;
    if (!sel.shapes.empty() && sel.cases.empty()) continue;
    bool by_name = selected(sel.cases, c->name()), by_id = selected(sel.cases, c->id());
    if (!sel.cases.empty() && !by_name && !by_id) continue;
    matched_cases.insert(by_id && !sel.cases.empty() ? c->id() : c->name());
    cases.push_back(c.get());
  }
  for (const auto& want : sel.cases)
    if (!matched_cases.count(want)) {
      std::vector<std::string> known;
      for (const auto& c : reg.cases())
        if (selected(sel.ops, c->op())) known.push_back(c->id());
      throw BadInput("unknown case '" + want + "' (known: " + join(known) + ")");
    }

  // One case twice (two --shape texts of one shape, or --shape knn beside --cases knn/uniform)
  // would write every record of it twice.
  for (const OpCase* c : adhoc) {
    if (std::any_of(cases.begin(), cases.end(), [c](const OpCase* o) { return o->id() == c->id(); }))
      throw BadInput("--shape selects " + c->id() + " more than once");
    cases.push_back(c);
  }

  std::set<std::string> known_impls;
  for (const OpCase* c : cases)
    for (Mode m : modes)
      for (const auto& i : impls_for(*c, m)) known_impls.insert(i);
  for (const auto& i : sel.impls)
    if (!known_impls.count(i))
      throw BadInput("unknown impl '" + i + "' for the selected ops and modes (known: " +
                     join({known_impls.begin(), known_impls.end()}) + ")");

  const double memory = physical_memory_bytes();
  std::vector<Entry> entries;
  for (const OpCase* c : cases) {
    std::vector<int64_t> batches = sel.batches.empty() ? c->batches(sel.profile) : sel.batches;
    for (int64_t b : batches) {
      c->check_batch(b);
      const std::string has = "; this machine has " + megabytes(memory);
      double need = 0;
      try {
        need = c->host_bytes(b);
      } catch (const SizeOverflow&) {  // before anything is allocated: nothing wraps into a small size
        throw BadInput(c->id() + " at batch " + std::to_string(b) +
                       " needs more host memory than 64-bit sizes can count" + has);
      }
      if (memory > 0 && need > 0.8 * memory)
        throw BadInput(c->id() + " at batch " + std::to_string(b) + " needs " + megabytes(need) + " of host memory" +
                       has);
    }
    for (Mode m : modes)
      for (const auto& impl : impls_for(*c, m)) {
        if (!selected(sel.impls, impl)) continue;
        const Impl* row = c->find_impl(impl, spec_of(m).rows);
        const bool quick_subset = sel.batches.empty() && sel.profile == Profile::quick && row && row->in_quick_profile;
        for (int64_t b : batches)
          if (!quick_subset || row->in_quick_profile(b)) entries.push_back(Entry{c, m, impl, b});
      }
  }
  return entries;
}

}  // namespace mb
