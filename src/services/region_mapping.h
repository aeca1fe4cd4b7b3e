// One region as one compartment sees it: the Region and the window offset it
// is mapped at. A Region can be mapped into several compartments at
// different offsets, so this per-compartment object is what
// Compartment::MapRegion provides by name and what a module's region handle
// refers to. Immutable; it holds a reference to the Region.
#ifndef RINGFENCE_SRC_SERVICES_REGION_MAPPING_H_
#define RINGFENCE_SRC_SERVICES_REGION_MAPPING_H_

#include <cstdint>
#include <memory>
#include <utility>

#include "ringfence/internal/handle_object.h"
#include "ringfence/region.h"

namespace ringfence::internal {

class RegionMapping final : public HandleObject {
 public:
  RegionMapping(std::shared_ptr<Region> region, uint64_t offset)
      : region_(std::move(region)), offset_(offset) {}

  Kind handle_kind() const override { return Kind::kRegion; }

  const Region& region() const { return *region_; }
  // Window offset of the first byte; offset() + size() <= 4 GiB.
  uint64_t offset() const { return offset_; }
  uint64_t size() const { return region_->size(); }

 private:
  std::shared_ptr<Region> region_;
  uint64_t offset_;
};

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_SERVICES_REGION_MAPPING_H_
