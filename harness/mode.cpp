#include "harness/mode.hpp"

#include <cstdlib>

#include "harness/device/device.hpp"
#include "harness/modes/ptx_jit.hpp"
#include "harness/op_case.hpp"
#include "harness/provider.hpp"
#include "harness/status.hpp"

namespace mb {

// Modes with a file of their own (harness/modes/).
std::vector<std::string> hybrid_impl_names(const OpCase& c);
std::unique_ptr<Instance> make_hybrid(const OpCase& c, const std::string& impl, Problem& p, Device* dev);

namespace {

const char* placement_name(Placement where) {
  return where == Placement::host ? "host" : where == Placement::device ? "device" : "hybrid";
}

}  // namespace

std::unique_ptr<Instance> make_from_table(const OpCase& c, const std::string& impl, Placement where, Problem& p,
                                          Device* dev) {
  const Impl* row = c.find_impl(impl, where);
  if (!row) throw BadInput(c.op() + " has no " + placement_name(where) + " impl '" + impl + "'");
  if (!row->provider.empty()) {
    const ProviderFactory* f = provider_factory(c.op(), impl, where);
    if (!f) throw Unavailable(provider_unavailable_reason(row->provider));
    return (*f)(p, dev, RowRange{0, p.batch()});
  }
  if (!row->make) throw Unavailable(kBuiltWithoutCuda);
  return row->make(p, dev, RowRange{0, p.batch()});
}

namespace {

std::vector<std::string> host_impls(const OpCase& c) { return c.impl_names(Placement::host); }
std::vector<std::string> device_impls(const OpCase& c) { return c.impl_names(Placement::device); }

std::unique_ptr<Instance> make_host(const OpCase& c, const std::string& impl, Problem& p, Device*) {
  return make_from_table(c, impl, Placement::host, p, nullptr);
}
std::unique_ptr<Instance> make_device(const OpCase& c, const std::string& impl, Problem& p, Device* dev) {
  return make_from_table(c, impl, Placement::device, p, dev);
}
// The test device has no kernels to JIT: it stands in for the data path only.
std::unique_ptr<Instance> make_ptx_jit(const OpCase& c, const std::string& impl, Problem& p, Device* dev) {
  if (!dev->is_test_device() && !in_forced_jit_process())
    throw Unavailable("ptx-jit needs a process started with CUDA_FORCE_PTX_JIT=1 (modebench run starts one)");
  return make_from_table(c, impl, Placement::device, p, dev);
}

}  // namespace

const std::vector<ModeSpec>& mode_table() {
  static const std::vector<ModeSpec> table = {
      // mode, name, data, compute, timed, rows, impl names, make, child environment (+ in effect)
      {Mode::cpu, "cpu", Side::host, Side::host, Side::host, Placement::host, host_impls, make_host, nullptr, nullptr},
      {Mode::gpu, "gpu", Side::device, Side::device, Side::device, Placement::device, device_impls, make_device,
       nullptr, nullptr},
      {Mode::ptx_jit, "ptx-jit", Side::device, Side::device, Side::device, Placement::device, device_impls,
       make_ptx_jit, forced_jit_environment, forced_jit_in_effect},
      {Mode::hybrid, "hybrid", Side::device, Side::host, Side::host, Placement::hybrid, hybrid_impl_names, make_hybrid,
       nullptr, nullptr},
  };
  return table;
}

const ModeSpec& spec_of(Mode m) {
  for (const ModeSpec& s : mode_table())
    if (s.mode == m) return s;
  throw std::logic_error("mode missing from the mode table");
}

std::string_view to_string(Mode m) { return spec_of(m).name; }

std::optional<Mode> parse_mode(std::string_view s) {
  for (const ModeSpec& spec : mode_table())
    if (spec.name == s) return spec.mode;
  return std::nullopt;
}

std::vector<Mode> all_modes() {
  std::vector<Mode> out;
  for (const ModeSpec& s : mode_table()) out.push_back(s.mode);
  return out;
}

std::string ChildEnvironment::describe() const {
  std::string out;
  for (const auto& [k, v] : set) out += (out.empty() ? "" : " ") + k + "=" + v;
  for (const auto& k : unset) out += " -" + k;
  return out;
}

std::string ChildEnvironment::overridden_here() const {
  std::string out;
  auto note = [&out](const std::string& k) {
    if (const char* v = std::getenv(k.c_str())) out += (out.empty() ? "" : " ") + k + "=" + v;
  };
  for (const auto& [k, v] : set)
    if (const char* here = std::getenv(k.c_str()); here && v != here) note(k);
  for (const auto& k : unset) note(k);
  return out.empty() ? "none" : out;
}

}  // namespace mb
