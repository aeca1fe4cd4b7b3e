// A compartment instance's handle table: the host objects its module holds.
//
// Handles are small positive int32 values that encode a slot and that slot's
// generation, so a forged, stale (closed, or from a dead instance) or
// double-closed handle is recognised and refused without touching anything.
// When the instance dies, every handle is released in reverse order of
// opening; the objects are shared (reference-counted) and outlive the table
// if anyone else holds them.
//
// Not thread-safe: used only by the thread executing the compartment (or the
// one discarding its instance), which the compartment's entry protocol makes
// exclusive.
#ifndef RINGFENCE_SRC_SERVICES_HANDLE_TABLE_H_
#define RINGFENCE_SRC_SERVICES_HANDLE_TABLE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "ringfence/internal/handle_object.h"

namespace ringfence::internal {

class HandleTable {
 public:
  static constexpr uint32_t kMaxHandles = 4096;

  // A new handle (> 0) for `object`, or RF_ETOOMANY.
  int32_t Open(std::shared_ptr<HandleObject> object);
  // The object behind an open handle, or null (forged, stale, closed).
  HandleObject* Get(int32_t handle) const;
  // The same, null also for an object of another kind.
  HandleObject* Get(int32_t handle, HandleObject::Kind kind) const;
  // RF_OK, or RF_EBADHANDLE if `handle` is not open.
  int32_t Close(int32_t handle);
  // Releases every open handle, newest first, telling each object that the
  // holder `owner_id` died.
  void ReleaseAll(uint32_t owner_id);

  uint32_t open_count() const { return open_count_; }

 private:
  struct Slot {
    std::shared_ptr<HandleObject> object;  // null while free
    uint32_t generation = 0;
    uint64_t opened = 0;  // order of opening, for release
  };
  int32_t SlotOf(int32_t handle) const;  // slot index, or -1

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  uint64_t next_opened_ = 0;
  uint32_t open_count_ = 0;
};

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_SERVICES_HANDLE_TABLE_H_
