// CompartmentImpl::Provide: host locks a module opens by name (rf_lock_open),
// and the name rules shared with MapRegion.
#include "ringfence/lock.h"
#include "src/compartment/compartment_core.h"
#include "src/compartment/compartment_impl.h"

namespace ringfence::internal {

Status CompartmentImpl::CheckNewName(const std::string& name) const {
  if (name.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "an object provided to module " + module_->name() + " needs a non-empty name");
  }
  if (core_->provided.contains(name)) {
    return Status(StatusCode::kInvalidArgument,
                  "the name '" + name + "' is already provided to module " + module_->name() +
                      ": names must be unique among its regions and locks");
  }
  return Status::Ok();
}

Status CompartmentImpl::Provide(std::string name, std::shared_ptr<Lock> lock) {
  RF_RETURN_IF_ERROR(CheckNewName(name));
  if (lock == nullptr) {
    return Status(StatusCode::kInvalidArgument, "Provide: no lock given for '" + name + "'");
  }
  // The spare maker may be running the spare's start-up, which reads them.
  std::lock_guard spare_lock(spare_mutex_);
  if (spare_core_ != nullptr) spare_core_->provided.emplace(name, lock);
  core_->provided.emplace(std::move(name), std::move(lock));
  SpareSetUpChanged();
  return Status::Ok();
}

}  // namespace ringfence::internal
