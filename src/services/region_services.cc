// Region services (module.h: rf_region_open, rf_region_offset,
// rf_region_size). A region handle refers to a RegionMapping: the region as
// this compartment maps it.
#include <cstdint>

#include "ringfence/module.h"
#include "src/services/region_mapping.h"
#include "src/services/services.h"

namespace ringfence::internal {
namespace {

// The mapping behind an open region handle, or null.
const RegionMapping* MappingOf(rf_import_context* core, uint32_t handle) {
  return static_cast<const RegionMapping*>(
      core->handles.Get(static_cast<int32_t>(handle), HandleObject::Kind::kRegion));
}

}  // namespace

uint32_t ServiceRegionOpen(rf_import_context* core, uint32_t name, uint32_t length) {
  return static_cast<uint32_t>(OpenProvided(core, name, length, HandleObject::Kind::kRegion));
}

// Offsets and sizes are below 4 GiB (MapRegion, Region::kMaxBytes), so they
// fit in the result's 32 bits; as multiples of 64 KiB they never read as an
// RF_E* code.
uint32_t ServiceRegionOffset(rf_import_context* core, uint32_t handle) {
  const RegionMapping* mapping = MappingOf(core, handle);
  if (mapping == nullptr) return static_cast<uint32_t>(RF_EBADHANDLE);
  return static_cast<uint32_t>(mapping->offset());
}

uint32_t ServiceRegionSize(rf_import_context* core, uint32_t handle) {
  const RegionMapping* mapping = MappingOf(core, handle);
  if (mapping == nullptr) return static_cast<uint32_t>(RF_EBADHANDLE);
  return static_cast<uint32_t>(mapping->size());
}

}  // namespace ringfence::internal
