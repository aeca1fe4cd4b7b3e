// Host objects a module can hold through a handle (locks, regions). Internal:
// the public classes derive from it.
#ifndef RINGFENCE_INTERNAL_HANDLE_OBJECT_H_
#define RINGFENCE_INTERNAL_HANDLE_OBJECT_H_

#include <cstdint>

namespace ringfence::internal {

class HandleObject {
 public:
  enum class Kind { kLock, kRegion };

  virtual ~HandleObject() = default;
  virtual Kind handle_kind() const = 0;

  // The compartment with lock-owner id `owner_id` died while holding a handle
  // to this object: give up anything it still holds here (a lock passes on
  // marked owner died). Runs on the thread discarding the instance.
  virtual void ReleaseFromDeadHolder(uint32_t owner_id) { (void)owner_id; }

  // True if `owner_id` may not close its handle now (it holds the lock).
  virtual bool BusyFor(uint32_t owner_id) const {
    (void)owner_id;
    return false;
  }
};

}  // namespace ringfence::internal

#endif  // RINGFENCE_INTERNAL_HANDLE_OBJECT_H_
