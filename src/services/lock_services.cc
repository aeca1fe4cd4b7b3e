// Module-facing lock services (rf_lock_* in <ringfence/module.h>).
//
// Each runs on the thread inside the module's gate. Handles are checked
// against the instance's handle table; a bad one is RF_EBADHANDLE, never a
// trap. The compartment's owner id is the lock owner, so a lock acquired in
// one call may be released in a later one, from any thread.
#include "ringfence/compartment.h"
#include "ringfence/internal/thread_gate.h"
#include "ringfence/lock.h"
#include "ringfence/module.h"
#include "src/services/services.h"

namespace ringfence::internal {
namespace {

Lock* LockOf(rf_import_context* core, uint32_t handle) {
  return static_cast<Lock*>(core->handles.Get(static_cast<int32_t>(handle), HandleObject::Kind::kLock));
}

// The acquire, without the unwind: returns an RF_* code, or
// Lock::kAcquireKilled. On return the lock is held only if the result is
// RF_OK or RF_OWNER_DIED and the compartment has not been killed.
int32_t AcquireLock(rf_import_context* core, uint32_t handle) {
  Lock* lock = LockOf(core, handle);
  if (lock == nullptr) return RF_EBADHANDLE;
  int32_t result = lock->AcquireFor(core->owner_id, t_thread_gate.deadline_ns, &core->kill_kind);
  if (result >= 0 && core->kill_kind.load(std::memory_order_relaxed) != 0) [[unlikely]] {
    // Killed as it acquired: none of its code will run while holding the
    // lock, so the guarded data is as it was. Hand it on without the
    // owner-died mark a death would add (a mark it already had stays).
    lock->AbandonFor(core->owner_id);
  }
  return result;
}

}  // namespace

uint32_t ServiceLockOpen(rf_import_context* core, uint32_t name, uint32_t length) {
  return static_cast<uint32_t>(OpenProvided(core, name, length, HandleObject::Kind::kLock));
}

uint32_t ServiceLockAcquire(rf_import_context* core, uint32_t handle) {
  int32_t result = AcquireLock(core, handle);
  // Nothing in this frame needs destruction: if the compartment was killed
  // while the thread waited, or the wait reached the call's deadline
  // (RF_ETIMEDOUT: the deadline has passed), it unwinds from here to its
  // entry gate, so a module never sees either. (The test first keeps the
  // common path free of the call.)
  if (result == RF_ETIMEDOUT || core->kill_kind.load(std::memory_order_relaxed) != 0) [[unlikely]] {
    UnwindIfKilled(core);
  }
  return static_cast<uint32_t>(result);
}

uint32_t ServiceLockRelease(rf_import_context* core, uint32_t handle) {
  Lock* lock = LockOf(core, handle);
  if (lock == nullptr) return static_cast<uint32_t>(RF_EBADHANDLE);
  return static_cast<uint32_t>(lock->ReleaseFor(core->owner_id));
}

uint32_t ServiceLockMarkConsistent(rf_import_context* core, uint32_t handle) {
  Lock* lock = LockOf(core, handle);
  if (lock == nullptr) return static_cast<uint32_t>(RF_EBADHANDLE);
  return static_cast<uint32_t>(lock->MarkConsistentFor(core->owner_id));
}

}  // namespace ringfence::internal
