#include "harness/registry.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "harness/status.hpp"
#include "include/modebench/policy.hpp"

namespace mb {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t from = 0;
  for (size_t at; (at = s.find(sep, from)) != std::string::npos; from = at + 1)
    out.push_back(s.substr(from, at - from));
  out.push_back(s.substr(from));
  return out;
}

// "OP:k=v,k=v" (a bare "OP" for an op without dimensions) -> the op and the given dimensions,
// as written; `fail` throws with the reason.
template <class Fail>
std::pair<std::string, modebench::Shape> split_shape_text(const std::string& text, const Fail& fail) {
  const size_t colon = text.find(':');
  const std::string op = text.substr(0, colon);
  modebench::Shape given;
  if (colon == std::string::npos || colon + 1 == text.size()) return {op, given};
  for (const std::string& item : split(text.substr(colon + 1), ',')) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) fail("expected key=value, got '" + item + "'");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size())
      fail("'" + key + "' = '" + value + "' is not a whole number (in 64 bits)");
    if (!given.emplace(key, v).second) fail("'" + key + "' is given twice");
  }
  return {op, given};
}

// The case name of a normalised shape: the dimensions that differ from the readers' defaults,
// required ones first in the readers' order ("in_features=777,out_features=333"). The report reads
// the shape back from it (report/modebench_report/cases.py); it never holds '/'.
std::string canonical_name(const std::string& op, const modebench::Shape& s) {
  namespace d = modebench::policy_detail;
  const modebench::Shape defaults = d::defaults(op);
  std::vector<std::string> keys = d::required(op);
  for (const auto& kv : s)
    if (std::find(keys.begin(), keys.end(), kv.first) == keys.end()) keys.push_back(kv.first);
  std::string out;
  for (const std::string& k : keys) {
    const auto def = defaults.find(k);
    if (def != defaults.end() && def->second == s.at(k)) continue;
    out += (out.empty() ? "" : ",") + k + "=" + std::to_string(s.at(k));
  }
  return out;
}

}  // namespace

std::vector<std::string> Registry::ops() const {
  std::vector<std::string> out;
  for (const auto& c : cases_)
    if (std::find(out.begin(), out.end(), c->op()) == out.end()) out.push_back(c->op());
  return out;
}

std::vector<std::string> Registry::shape_ops() const {
  std::vector<std::string> out;
  for (const std::string& op : ops())
    if (shape_factories_.contains(op)) out.push_back(op);
  return out;
}

const OpCase& Registry::adhoc_case(const std::string& text) const {
  const auto fail = [&text](const std::string& why) { throw BadInput("--shape '" + text + "': " + why); };
  const auto [op, given] = split_shape_text(text, fail);
  const auto factory = shape_factories_.find(op);
  if (factory == shape_factories_.end()) fail("unknown op '" + op + "' (known: " + join(shape_ops()) + ")");
  ShapeSpec spec;
  try {
    spec.dims = modebench::normalize(op, given);
  } catch (const modebench::ShapeError& e) {
    fail(e.what());
  }
  spec.name = canonical_name(op, spec.dims);  // empty for an op without dimensions: its factory names it
  std::unique_ptr<OpCase> c;
  try {
    c = factory->second(spec);
  } catch (const std::invalid_argument& e) {  // a shape the readers accept and the op's cases cannot take
    fail(e.what());
  }
  std::lock_guard<std::mutex> lock(adhoc_->mutex);
  std::unique_ptr<OpCase>& kept = adhoc_->by_id[c->id()];
  if (!kept) kept = std::move(c);
  return *kept;
}

std::vector<KernelRef> Registry::own_kernels() const {
  std::vector<KernelRef> out;
  for (const auto& c : cases_)
    for (const Impl& impl : c->impls()) {
      if (!impl.own_kernels) continue;
      for (const KernelRef& k : impl.own_kernels())
        if (std::none_of(out.begin(), out.end(), [&](const KernelRef& o) { return o.fn == k.fn; })) out.push_back(k);
    }
  return out;
}

}  // namespace mb
