#include "harness/op_case.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <stdexcept>

#include "harness/status.hpp"

namespace mb {

void Problem::poison_outputs() {
  for (TensorRef& t : tensors())
    if (t.role == Role::output) std::fill(t.data, t.data + t.count, std::numeric_limits<float>::quiet_NaN());
}

int64_t ShapeSpec::dim(const std::string& key, std::optional<int64_t> fallback) const {
  const auto it = dims.find(key);
  if (it != dims.end()) return it->second;
  if (fallback) return *fallback;
  throw std::invalid_argument("shape " + name + ": missing " + key);
}

double Instance::timed_run_ms() {
  auto t0 = std::chrono::steady_clock::now();
  run();
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

std::vector<std::string> Impl::loads() const {
  std::vector<std::string> out;
  auto add = [&out](const std::string& what) {
    if (std::find(out.begin(), out.end(), what) == out.end()) out.push_back(what);
  };
  if (own_kernels)
    for (const KernelRef& k : own_kernels()) add(k.module);
  for (const std::string& lib : libraries) add(lib);
  return out;
}

void OpCase::check_batch(int64_t batch) const {
  if (batch <= 0) throw BadInput("batch must be positive, got " + std::to_string(batch));
}

std::optional<ReducedRun> OpCase::reduced_run(int64_t batch, uint64_t seed) const {
  const int64_t small = batches(Profile::quick).front();
  if (small >= batch) return std::nullopt;
  return ReducedRun{make_problem(small, seed), std::to_string(small), nullptr};
}

void OpCase::add_impl(Impl impl) {
  if (find_impl(impl.name, impl.placement)) throw std::logic_error(id() + " declares impl '" + impl.name + "' twice");
  impls_.push_back(std::move(impl));
}

void OpCase::add_provider_impl(std::string name, Placement where, std::string provider,
                               std::function<bool(int64_t batch)> in_quick_profile) {
  Impl i;
  i.name = std::move(name);
  i.placement = where;
  i.provider = std::move(provider);
  i.in_quick_profile = std::move(in_quick_profile);
  add_impl(std::move(i));
}

std::vector<std::string> OpCase::impl_names(Placement where) const {
  std::vector<std::string> out;
  for (const Impl& i : impls_)
    if (i.placement == where) out.push_back(i.name);
  return out;
}

const Impl* OpCase::find_impl(const std::string& name, Placement where) const {
  for (const Impl& i : impls_)
    if (i.placement == where && i.name == name) return &i;
  return nullptr;
}

namespace {
const Impl& first_host_impl_where(const OpCase& c, const std::function<bool(const Impl&)>& pred) {
  const Impl* first = nullptr;
  for (const Impl& i : c.impls()) {
    if (i.placement != Placement::host) continue;
    if (pred(i)) return i;
    if (!first) first = &i;
  }
  if (!first) throw std::logic_error(c.id() + " has no host impl");
  return *first;
}
}  // namespace

const Impl& OpCase::best_host_impl(int64_t batch) const {
  return first_host_impl_where(*this, [batch](const Impl& i) { return i.best_for && i.best_for(batch); });
}

bool OpCase::has_own_host_impl() const {
  return std::any_of(impls_.begin(), impls_.end(),
                     [](const Impl& i) { return i.placement == Placement::host && i.provider.empty(); });
}

const Impl& OpCase::plain_host_impl() const {
  return first_host_impl_where(*this, [](const Impl& i) { return i.plain; });
}

}  // namespace mb
