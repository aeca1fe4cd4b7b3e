// Compartment::Provide: host locks a module opens by name (rf_lock_open).
#include "ringfence/compartment.h"
#include "ringfence/lock.h"
#include "src/compartment/compartment_core.h"

namespace ringfence {

Status Compartment::Provide(std::string name, std::shared_ptr<Lock> lock) {
  if (name.empty()) {
    return Status(StatusCode::kInvalidArgument, "Provide: the lock name is empty");
  }
  if (lock == nullptr) {
    return Status(StatusCode::kInvalidArgument, "Provide: no lock given for '" + name + "'");
  }
  if (core_->provided.contains(name)) {
    return Status(StatusCode::kInvalidArgument,
                  "Provide: module '" + module_->name() + "' is already provided an object named '" +
                      name + "'");
  }
  core_->provided.emplace(std::move(name), std::move(lock));
  return Status::Ok();
}

}  // namespace ringfence
