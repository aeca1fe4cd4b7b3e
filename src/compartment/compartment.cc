// The public Compartment (include/ringfence/compartment.h): each operation
// forwards to its CompartmentImpl (compartment_impl.h lists where the
// implementation's code lives).
#include "ringfence/compartment.h"

#include <utility>

#include "src/compartment/compartment_impl.h"
#include "src/compartment/export_call.h"

namespace ringfence {

StatusOr<std::unique_ptr<Compartment>> Compartment::Create(std::shared_ptr<const Module> module,
                                                           CompartmentOptions options) {
  StatusOr<std::unique_ptr<internal::CompartmentImpl>> impl =
      internal::CompartmentImpl::Create(std::move(module), std::move(options));
  if (!impl.ok()) return impl.status();
  return internal::CompartmentAccess::Wrap(std::move(*impl));
}

Compartment::Compartment(std::unique_ptr<internal::CompartmentImpl> impl)
    : impl_(std::move(impl)) {}

Compartment::~Compartment() = default;

StatusOr<internal::ExportTarget> Compartment::FindTypedExport(std::string_view name,
                                                              const Signature& expected) {
  return impl_->FindTypedExport(name, expected);
}

Result<std::optional<Value>> Compartment::CallDynamic(std::string_view name,
                                                      std::span<const Value> args) {
  return impl_->CallDynamic(name, args);
}

Status Compartment::Restart() { return impl_->Restart(); }

void Compartment::Kill() { impl_->Kill(); }

bool Compartment::WaitForSpare() { return impl_->WaitForSpare(); }

Status Compartment::Link(std::string_view import_module, std::string_view import_name,
                         Compartment& target, std::string_view export_name) {
  return impl_->Link(import_module, import_name, *target.impl_, export_name);
}

Status Compartment::LinkModule(std::string_view import_module, Compartment& target) {
  return impl_->LinkModule(import_module, *target.impl_);
}

Status Compartment::Provide(std::string name, std::shared_ptr<Lock> lock) {
  return impl_->Provide(std::move(name), std::move(lock));
}

Status Compartment::MapRegion(std::string name, std::shared_ptr<Region> region, uint64_t offset) {
  return impl_->MapRegion(std::move(name), std::move(region), offset);
}

Compartment::State Compartment::state() const { return impl_->state(); }

const Module& Compartment::module() const { return *impl_->module(); }

const std::shared_ptr<const Module>& Compartment::shared_module() const { return impl_->module(); }

uint64_t Compartment::restart_count() const { return impl_->restart_count(); }

const std::optional<Trap>& Compartment::last_trap() const { return impl_->last_trap(); }

std::optional<Trap> Compartment::LastTrapCopy() const { return impl_->LastTrapCopy(); }

bool Compartment::idle() const { return impl_->idle(); }

uint32_t Compartment::open_handles() const { return impl_->open_handles(); }

namespace internal {

StatusOr<ExportTarget> CompartmentImpl::FindTypedExport(std::string_view name,
                                                        const Signature& expected) {
  StatusOr<uint32_t> index = CheckExport(*module_, name, expected);
  if (!index.ok()) return index.status();
  const rf_export& entry = module_->abi().exports[*index];
  return ExportTarget{this, *index, entry.function, entry.gate};
}

Result<std::optional<Value>> CompartmentImpl::CallDynamic(std::string_view name,
                                                          std::span<const Value> args) {
  return internal::CallDynamic(
      *module_, module_->name(), name, args,
      [this](uint32_t index, const uint64_t* slots) { return CallSlots(index, slots); });
}

}  // namespace internal
}  // namespace ringfence
