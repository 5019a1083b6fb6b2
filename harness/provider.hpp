#pragma once
// Providers: impls that run in an executable of their own, `modebench-<provider>` next to
// `modebench` (the torch provider: the user's PyTorch through libtorch, whose bundled CUDA
// libraries must never load into the same process as the toolkit's). An op declares such
// impls as rows of its table (Impl::provider); this process only lists them and routes their
// entries to the provider's executable as a child; the provider's executable installs the
// factories at start. A provider that was not built makes its entries unavailable.
#include <functional>
#include <memory>
#include <string>

#include "harness/op_case.hpp"

namespace mb {

using ProviderFactory = std::function<std::unique_ptr<Instance>(Problem&, Device*, RowRange)>;

// In the provider's executable, before any entry: the factory of (op, impl, placement).
void install_provider_factory(const std::string& op, const std::string& impl, Placement where, ProviderFactory f);
// nullptr when none was installed in this process.
const ProviderFactory* provider_factory(const std::string& op, const std::string& impl, Placement where);

// The provider this process is ("" for modebench itself); its executable sets it first.
void set_current_provider(const std::string& name);
const std::string& current_provider();

// The provider's executable next to this one; "" when it was not built.
std::string provider_executable(const std::string& provider);

// Why a provider's entries cannot run here when its executable is missing.
std::string provider_unavailable_reason(const std::string& provider);

}  // namespace mb
