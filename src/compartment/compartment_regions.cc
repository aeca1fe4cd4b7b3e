// CompartmentImpl::MapRegion: shared memory regions in a compartment's window.
//
// The region is mapped over the window's reservation, above the memory
// limit. Restarts only reset pages below the memory's size, so the mapping
// and its contents stay; destroying the compartment unmaps the whole window,
// which removes it.
//
// No thread may be inside the compartment meanwhile: core_->provided is read
// by rf_region_open / rf_lock_open on the thread inside, without a lock.
// With a warm spare, both windows get the mapping (spare_mutex_ keeps the
// spare maker out of the spare meanwhile).
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "ringfence/region.h"
#include "src/compartment/compartment_core.h"
#include "src/compartment/compartment_impl.h"
#include "src/services/region_mapping.h"

namespace ringfence::internal {
namespace {

constexpr uint64_t kWasm32Bytes = uint64_t{4} << 30;

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

}  // namespace

Status CompartmentImpl::MapRegion(std::string name, std::shared_ptr<Region> region,
                                  uint64_t offset) {
  RF_RETURN_IF_ERROR(CheckNewName(name));
  if (region == nullptr) return Invalid(fmt::format("no region given for '{}'", name));
  if (offset % Region::kGranuleBytes != 0) {
    return Invalid(fmt::format("region '{}': offset {:#x} is not a multiple of 64 KiB", name,
                               offset));
  }
  uint64_t memory_limit = uint64_t{core_->memory_limit_pages} * Region::kGranuleBytes;
  if (offset < memory_limit) {
    return Invalid(fmt::format("region '{}': offset {:#x} is below the memory limit {:#x}: a "
                               "region must lie at or above it, where the module's memory "
                               "never grows",
                               name, offset, memory_limit));
  }
  uint64_t size = region->size();
  if (offset > kWasm32Bytes || size > kWasm32Bytes - offset) {
    return Invalid(fmt::format("region '{}': [{:#x}, {:#x}) ends past 4 GiB: a region must end "
                               "at or below 4 GiB, the module's address space",
                               name, offset, offset + size));
  }
  for (const auto& [other_name, object] : core_->provided) {
    if (object->handle_kind() != internal::HandleObject::Kind::kRegion) continue;
    const auto& other = static_cast<const internal::RegionMapping&>(*object);
    if (offset < other.offset() + other.size() && other.offset() < offset + size) {
      return Invalid(fmt::format("region '{}': [{:#x}, {:#x}) overlaps region '{}' at [{:#x}, "
                                 "{:#x}): regions in one window must not overlap",
                                 name, offset, offset + size, other_name, other.offset(),
                                 other.offset() + other.size()));
    }
  }

  // A warm spare's window gets the same mapping at the same offset, so the
  // instance that takes over finds the region where the dead one had it.
  std::lock_guard spare_lock(spare_mutex_);
  if (spare_core_ != nullptr) {
    RF_RETURN_IF_ERROR(region->MapAt(spare_core_->window.base() + offset));
  }
  RF_RETURN_IF_ERROR(region->MapAt(core_->window.base() + offset));
  auto mapping = std::make_shared<internal::RegionMapping>(std::move(region), offset);
  if (spare_core_ != nullptr) spare_core_->provided.emplace(name, mapping);
  core_->provided.emplace(std::move(name), std::move(mapping));
  SpareSetUpChanged();
  // A worker process maps regions when it starts: a live one is replaced
  // by one that has the new region (a set-up step, not a restart).
  // It keeps the instance's number and restart count: whoever holds them
  // (a supervisor) sees the same instance.
  if (module_->isolation() == Isolation::kProcess && live_instance_ != nullptr) {
    uint64_t serial = instance_serial_;
    uint64_t restarts = restart_count_;
    DiscardInstance();
    Status started = Instantiate();
    restart_count_ = restarts;
    RF_RETURN_IF_ERROR(started);
    instance_serial_ = serial;
    live_serial_.store(serial, std::memory_order_release);
  }
  return Status::Ok();
}

}  // namespace ringfence::internal
