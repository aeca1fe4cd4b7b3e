// Lock: a robust mutex on one futex word.
//
// The word holds the owner id, so acquiring *is* recording the owner: a
// compartment that dies at any instant either holds the lock (its id is in
// the word, and its handle table passes the lock on marked owner died) or
// does not. Uncontended, an acquire is one CAS and a release one CAS.
//
// Waiting follows the classic three-state futex mutex: a waiter sets
// kWaitersBit before it sleeps, a release that finds the bit set wakes one
// waiter, and a thread that has slept acquires with the bit set again (it
// cannot know whether others still sleep).
#include "ringfence/lock.h"

#include <unistd.h>

#include <climits>
#include <limits>

#include "ringfence/module.h"
#include "src/gate/futex.h"

namespace ringfence {
namespace {

using internal::FutexWait;
using internal::FutexWaitEither;
using internal::FutexWake;
using internal::MonotonicNs;
using internal::WaitOutcome;

constexpr uint32_t kOwnerMask = Lock::kOwnerIdLimit - 1;
// Owner field of an unrecoverable lock: no owner id ever has this value, so
// nobody can acquire or release it, and the state is permanent.
constexpr uint32_t kUnrecoverableOwner = kOwnerMask;
constexpr uint32_t kOwnerDiedBit = uint32_t{1} << 30;
constexpr uint32_t kWaitersBit = uint32_t{1} << 31;

// Polls before sleeping: a holder in a short critical section usually lets
// go sooner than a futex sleep and wake-up would take.
constexpr int kSpinCount = 100;

uint32_t OwnerOf(uint32_t word) { return word & kOwnerMask; }

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// The calling thread's Linux thread id, cached (gettid is a system call).
__thread pid_t t_thread_id = 0;
pid_t CurrentThreadId() {
  if (t_thread_id == 0) [[unlikely]] t_thread_id = static_cast<pid_t>(gettid());
  return t_thread_id;
}

// Host owner ids, one per host thread, never reused.
std::atomic<uint32_t> g_next_host_owner_id{Lock::kFirstHostOwnerId};
__thread uint32_t t_host_owner_id = 0;

}  // namespace

std::shared_ptr<Lock> Lock::Create(std::string name) {
  return std::shared_ptr<Lock>(new Lock(std::move(name)));
}

uint32_t Lock::HostOwnerId() {
  if (t_host_owner_id == 0) [[unlikely]] {
    uint32_t id = g_next_host_owner_id.fetch_add(1, std::memory_order_relaxed);
    // 2^29 host threads in one process's life: ids would run into the
    // reserved unrecoverable value.
    RF_CHECK(id < kUnrecoverableOwner);
    t_host_owner_id = id;
  }
  return t_host_owner_id;
}

int32_t Lock::AcquireFor(uint32_t owner_id, uint64_t deadline_ns,
                         const std::atomic<uint32_t>* kill_word) {
  uint32_t observed = 0;
  if (word_.compare_exchange_strong(observed, owner_id, std::memory_order_acquire,
                                    std::memory_order_relaxed)) [[likely]] {
    holder_thread_.store(CurrentThreadId(), std::memory_order_relaxed);
    return RF_OK;
  }
  return AcquireSlow(owner_id, observed, deadline_ns, kill_word);
}

int32_t Lock::AcquireSlow(uint32_t owner_id, uint32_t observed, uint64_t deadline_ns,
                          const std::atomic<uint32_t>* kill_word) {
  RF_CHECK(owner_id != 0 && owner_id < kUnrecoverableOwner);
  bool slept = false;
  int spins = 0;
  uint32_t word = observed;
  int32_t gave_up;  // kAcquireKilled or RF_ETIMEDOUT
  for (;;) {
    uint32_t owner = OwnerOf(word);
    if (owner == kUnrecoverableOwner) return RF_EUNRECOVERABLE;
    if (owner == owner_id) return RF_EDEADLK;
    // A killed compartment must not take the lock: it will never run code
    // again, and its death would mark the lock owner died for nothing.
    if (kill_word != nullptr && kill_word->load(std::memory_order_acquire) != 0) {
      gave_up = kAcquireKilled;
      break;
    }
    if (owner == 0) {
      // Free, perhaps marked owner died, perhaps with sleepers: take it,
      // keeping both marks.
      uint32_t desired = owner_id | (word & (kOwnerDiedBit | kWaitersBit)) | (slept ? kWaitersBit : 0);
      if (word_.compare_exchange_weak(word, desired, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        holder_thread_.store(CurrentThreadId(), std::memory_order_relaxed);
        return (word & kOwnerDiedBit) != 0 ? RF_OWNER_DIED : RF_OK;
      }
      continue;
    }
    if (!slept && spins < kSpinCount && (word & kWaitersBit) == 0) {
      ++spins;
      CpuRelax();
      word = word_.load(std::memory_order_relaxed);
      continue;
    }
    if (deadline_ns != 0 && MonotonicNs() >= deadline_ns) {
      gave_up = RF_ETIMEDOUT;
      break;
    }
    // Held by another owner: make sure its release will wake someone.
    if ((word & kWaitersBit) == 0) {
      if (!word_.compare_exchange_weak(word, word | kWaitersBit, std::memory_order_relaxed)) {
        continue;
      }
      word |= kWaitersBit;
    }
    if (kill_word != nullptr) {
      FutexWaitEither(word_, word, *kill_word, 0, deadline_ns);
    } else {
      FutexWait(word_, word, deadline_ns);
    }
    // Whatever woke us (a release, a kill, the deadline, nothing), look
    // again: a woken waiter must try the lock, or the wake-up is lost.
    slept = true;
    word = word_.load(std::memory_order_relaxed);
  }
  // Leaving without the lock. A release wakes one waiter only: if that was
  // this thread, the wake-up must go on to the next one.
  if (slept) PassOnWake();
  return gave_up;
}

void Lock::PassOnWake() {
  uint32_t word = word_.load(std::memory_order_relaxed);
  for (;;) {
    uint32_t owner = OwnerOf(word);
    if (owner == 0) {
      // Free: a wake-up we consumed may have been the only one.
      FutexWake(word_, 1);
      return;
    }
    if (owner == kUnrecoverableOwner || (word & kWaitersBit) != 0) return;
    // Held, and the bit gone (the release that woke us cleared it; a new
    // owner took the lock without it): set it so that owner's release wakes
    // whoever still sleeps.
    if (word_.compare_exchange_weak(word, word | kWaitersBit, std::memory_order_relaxed)) return;
  }
}

int32_t Lock::ReleaseFor(uint32_t owner_id) {
  // Only the owner changes the owner field and the owner-died mark; others
  // only add kWaitersBit. So a word that is exactly `owner_id` means: ours,
  // consistent, nobody asleep; the release then needs no wake-up.
  uint32_t word = word_.load(std::memory_order_relaxed);
  if (word == owner_id) [[likely]] {
    // Cleared before the release, so a new owner's record is never lost.
    holder_thread_.store(0, std::memory_order_relaxed);
    if (word_.compare_exchange_strong(word, 0, std::memory_order_release,
                                      std::memory_order_relaxed)) [[likely]] {
      return RF_OK;
    }
    // A waiter set kWaitersBit meanwhile.
  }
  return HandOff(owner_id, HandOffMode::kRelease);
}

int32_t Lock::AbandonFor(uint32_t owner_id) { return HandOff(owner_id, HandOffMode::kAbandon); }

void Lock::ReleaseFromDeadHolder(uint32_t owner_id) {
  HandOff(owner_id, HandOffMode::kOwnerDied);
}

int32_t Lock::HandOff(uint32_t owner_id, HandOffMode mode) {
  uint32_t word = word_.load(std::memory_order_relaxed);
  if (OwnerOf(word) != owner_id) return RF_ENOTOWNER;
  // From here on only kWaitersBit can change under us (we hold the lock).
  uint32_t next = 0;
  switch (mode) {
    case HandOffMode::kRelease:
      next = (word & kOwnerDiedBit) != 0 ? kUnrecoverableOwner : 0;
      break;
    case HandOffMode::kAbandon:
      next = word & kOwnerDiedBit;
      break;
    case HandOffMode::kOwnerDied:
      next = kOwnerDiedBit;
      break;
  }
  holder_thread_.store(0, std::memory_order_relaxed);
  uint32_t previous = word_.exchange(next, std::memory_order_release);
  if (next == kUnrecoverableOwner) {
    // Every waiter must learn that the lock is gone for good.
    if ((previous & kWaitersBit) != 0) FutexWake(word_, INT_MAX);
  } else if ((previous & kWaitersBit) != 0) {
    FutexWake(word_, 1);
  }
  return RF_OK;
}

int32_t Lock::MarkConsistentFor(uint32_t owner_id) {
  uint32_t word = word_.load(std::memory_order_relaxed);
  if (OwnerOf(word) != owner_id) return RF_ENOTOWNER;
  if ((word & kOwnerDiedBit) != 0) word_.fetch_and(~kOwnerDiedBit, std::memory_order_relaxed);
  return RF_OK;
}

bool Lock::BusyFor(uint32_t owner_id) const {
  return OwnerOf(word_.load(std::memory_order_relaxed)) == owner_id;
}

bool Lock::held() const {
  uint32_t owner = OwnerOf(word_.load(std::memory_order_relaxed));
  return owner != 0 && owner != kUnrecoverableOwner;
}

bool Lock::unrecoverable() const {
  return OwnerOf(word_.load(std::memory_order_relaxed)) == kUnrecoverableOwner;
}

bool Lock::owner_died() const {
  uint32_t word = word_.load(std::memory_order_relaxed);
  return OwnerOf(word) != kUnrecoverableOwner && (word & kOwnerDiedBit) != 0;
}

bool Lock::has_waiters() const {
  return (word_.load(std::memory_order_relaxed) & kWaitersBit) != 0;
}

pid_t Lock::holder_thread() const { return holder_thread_.load(std::memory_order_relaxed); }

// ---- Host side ----

StatusOr<LockOutcome> Lock::Acquire(std::chrono::nanoseconds timeout) {
  uint64_t deadline_ns = 0;  // none
  if (timeout != std::chrono::nanoseconds::max()) {
    uint64_t now = MonotonicNs();
    uint64_t span = timeout.count() > 0 ? static_cast<uint64_t>(timeout.count()) : 0;
    deadline_ns = span > std::numeric_limits<uint64_t>::max() - now ? 0 : now + span;
  }
  switch (AcquireFor(HostOwnerId(), deadline_ns, nullptr)) {
    case RF_OK:
      return LockOutcome::kAcquired;
    case RF_OWNER_DIED:
      return LockOutcome::kOwnerDied;
    case RF_EDEADLK:
      return Status(StatusCode::kFailedPrecondition,
                    "lock '" + name_ + "' is already held by this thread (locks are not recursive)");
    case RF_EUNRECOVERABLE:
      return Status(StatusCode::kFailedPrecondition,
                    "lock '" + name_ +
                        "' is unrecoverable: after its owner died, the next holder released it "
                        "without marking it consistent, so the data it guards cannot be trusted");
    case RF_ETIMEDOUT:
      return Status(StatusCode::kDeadlineExceeded,
                    "timed out waiting for lock '" + name_ + "' (held by thread " +
                        std::to_string(holder_thread()) + ")");
  }
  RF_CHECK(false);  // no other outcome without a kill word
  return Status(StatusCode::kInternal, "unreachable");
}

Status Lock::Release() {
  if (ReleaseFor(HostOwnerId()) != RF_OK) {
    return Status(StatusCode::kFailedPrecondition,
                  "lock '" + name_ + "' is not held by this thread; only its owner may release it");
  }
  return Status::Ok();
}

Status Lock::MarkConsistent() {
  if (MarkConsistentFor(HostOwnerId()) != RF_OK) {
    return Status(StatusCode::kFailedPrecondition,
                  "lock '" + name_ + "' is not held by this thread; only its owner may mark it "
                                     "consistent");
  }
  return Status::Ok();
}

}  // namespace ringfence
