// Lock: a host-provided mutex that survives the death of its holder.
//
// A Lock is shared between host threads (through this class) and modules
// (through rf_lock_open / rf_lock_acquire / rf_lock_release /
// rf_lock_mark_consistent in <ringfence/module.h>, after
// Compartment::Provide). It has robust-futex semantics:
//
//   - Its owner is a compartment (while module code holds it) or a host
//     thread. When a compartment dies holding it (a trap, a kill, a timeout),
//     the lock is never silently released: it passes to the next acquirer
//     marked *owner died*, because the data it guards may be half-updated.
//   - The acquirer that gets LockOutcome::kOwnerDied (RF_OWNER_DIED in a
//     module) repairs the data and calls MarkConsistent() before Release().
//     Releasing without marking it makes the lock unrecoverable: every later
//     Acquire fails (kFailedPrecondition; RF_EUNRECOVERABLE in a module), for
//     good. Waiters are told too.
//   - A host thread that dies holding the lock does not release it (host code
//     is trusted; such a thread is a host bug).
//
//   std::shared_ptr<Lock> lock = Lock::Create("table");
//   compartment->Provide("table", lock);
//   StatusOr<LockOutcome> outcome = lock->Acquire(std::chrono::milliseconds(10));
//   if (!outcome.ok()) return outcome.status();  // timed out, unrecoverable
//   if (*outcome == LockOutcome::kOwnerDied) {
//     RepairTable();
//     lock->MarkConsistent();
//   }
//   ...
//   lock->Release();
//
// Not recursive: a host thread that acquires a lock it already holds gets an
// error instead of a deadlock; so does a compartment.
//
// Thread-safety: every method may be called from any thread. Ownership is per
// host thread on the host side: only the thread that acquired may release.
// Owned through std::shared_ptr; compartments that were given the lock keep
// it alive.
#ifndef RINGFENCE_LOCK_H_
#define RINGFENCE_LOCK_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "ringfence/internal/handle_object.h"
#include "ringfence/status.h"

namespace ringfence {

// How an Acquire succeeded.
enum class LockOutcome {
  kAcquired,   // the lock was free, or released normally
  kOwnerDied,  // its previous owner died holding it: repair, MarkConsistent
};

class Lock final : public internal::HandleObject {
 public:
  // A new, free, consistent lock. `name` appears in error messages and logs.
  static std::shared_ptr<Lock> Create(std::string name);

  ~Lock() override = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  const std::string& name() const { return name_; }

  // Acquires the lock for the calling host thread, waiting at most `timeout`
  // (the default waits without limit; zero or negative tries once).
  // Outcomes:
  //   kAcquired            the caller owns the lock.
  //   kOwnerDied           the caller owns the lock; the previous owner died
  //                        holding it. Call MarkConsistent() before Release().
  //   kDeadlineExceeded    the timeout passed; the caller does not own it.
  //   kFailedPrecondition  the lock is unrecoverable, or the calling thread
  //                        already holds it; the caller does not own it.
  StatusOr<LockOutcome> Acquire(std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max());

  // Releases the lock held by the calling host thread, waking one waiter.
  // If it was acquired with kOwnerDied and not marked consistent since, the
  // lock becomes unrecoverable (and every waiter is woken to be told so); the
  // release itself still succeeds. kFailedPrecondition if the calling thread
  // does not hold it.
  Status Release();

  // Declares the data the lock guards repaired after kOwnerDied. Ok (also if
  // there was nothing to repair); kFailedPrecondition if the calling thread
  // does not hold the lock.
  Status MarkConsistent();

  // Snapshots, for diagnostics and tests: by the time they return, another
  // thread may have changed the answer.
  // Some owner holds the lock (false once it is unrecoverable).
  bool held() const;
  // The lock was released after owner death without repair.
  bool unrecoverable() const;
  // The lock's owner died and the current owner has not marked it consistent
  // yet (or nobody acquired it since).
  bool owner_died() const;
  // Linux thread id of the thread that acquired the lock, 0 while free.
  pid_t holder_thread() const;

  // ---- Internal: used by the module services and the compartment. ----

  // Owner ids are nonzero and below kOwnerIdLimit. Compartments use ids in
  // [1, kFirstHostOwnerId); host threads get one each from
  // [kFirstHostOwnerId, kOwnerIdLimit - 1) (the last id is reserved).
  static constexpr uint32_t kFirstHostOwnerId = uint32_t{1} << 29;
  static constexpr uint32_t kOwnerIdLimit = uint32_t{1} << 30;
  // AcquireFor's result when `kill_word` became nonzero while waiting. Not an
  // RF_* code: the service unwinds instead of returning it to the module.
  static constexpr int32_t kAcquireKilled = -1000;

  // The calling host thread's owner id (allocated on first use).
  static uint32_t HostOwnerId();

  // Acquires for `owner_id`, waiting until `deadline_ns` (CLOCK_MONOTONIC,
  // 0 = none) and, if `kill_word` is not null, until *kill_word is nonzero
  // (whoever sets it must FutexWake it). Returns RF_OK, RF_OWNER_DIED (owned
  // in both cases), RF_EDEADLK (owner_id already holds it), RF_EUNRECOVERABLE,
  // RF_ETIMEDOUT or kAcquireKilled (not owned).
  int32_t AcquireFor(uint32_t owner_id, uint64_t deadline_ns, const std::atomic<uint32_t>* kill_word);
  // RF_OK, or RF_ENOTOWNER if `owner_id` does not hold the lock.
  int32_t ReleaseFor(uint32_t owner_id);
  // RF_OK, or RF_ENOTOWNER if `owner_id` does not hold the lock.
  int32_t MarkConsistentFor(uint32_t owner_id);
  // Releases a lock `owner_id` holds without judging the data: the owner-died
  // mark stays as it was. For a holder that acquired it and is unwound before
  // any of its code ran. RF_OK or RF_ENOTOWNER.
  int32_t AbandonFor(uint32_t owner_id);

  // Some thread announced that it sleeps waiting for the lock (a snapshot;
  // the mark may outlive the waiter). For tests.
  bool has_waiters() const;

  // HandleObject.
  Kind handle_kind() const override { return Kind::kLock; }
  // If `owner_id` holds the lock, passes it on marked owner died.
  void ReleaseFromDeadHolder(uint32_t owner_id) override;
  // `owner_id` holds the lock.
  bool BusyFor(uint32_t owner_id) const override;

 private:
  explicit Lock(std::string name) : name_(std::move(name)) {}

  // How a holder lets go of the lock (see HandOff in lock.cc).
  enum class HandOffMode {
    kRelease,    // by the holder: unrecoverable if still marked owner died
    kAbandon,    // unwound before its code ran: the mark stays as it was
    kOwnerDied,  // the holder died: marked owner died
  };
  int32_t HandOff(uint32_t owner_id, HandOffMode mode);
  int32_t AcquireSlow(uint32_t owner_id, uint32_t observed, uint64_t deadline_ns,
                      const std::atomic<uint32_t>* kill_word);
  // A waiter leaving without the lock may have consumed a wake-up meant for
  // the next waiter: passes it on.
  void PassOnWake();

  const std::string name_;
  // The lock word, which is the ownership record itself (so there is no
  // window between acquiring and recording): owner id in the low 30 bits
  // (0 = free; all ones = unrecoverable), kOwnerDiedBit, kWaitersBit. Futex
  // word for waiters.
  std::atomic<uint32_t> word_{0};
  // Thread that acquired it (diagnostics only): written by the owner after
  // acquiring and before releasing.
  std::atomic<pid_t> holder_thread_{0};
};

}  // namespace ringfence

#endif  // RINGFENCE_LOCK_H_
