#include "src/gate/futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace ringfence::internal {
namespace {

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

// Used when the kernel lacks futex_waitv: wait on one word in slices short
// enough that the other word is noticed soon.
constexpr uint64_t kPollSliceNs = 1'000'000;

uint32_t* Address(const std::atomic<uint32_t>& word) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  return reinterpret_cast<uint32_t*>(const_cast<std::atomic<uint32_t>*>(&word));
}

timespec ToTimespec(uint64_t ns) {
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

WaitOutcome Outcome(long rc, uint64_t deadline_ns) {
  if (rc != 0 && errno == ETIMEDOUT) return WaitOutcome::kTimedOut;
  if (deadline_ns != 0 && MonotonicNs() >= deadline_ns) return WaitOutcome::kTimedOut;
  return WaitOutcome::kWoken;
}

}  // namespace

uint64_t MonotonicNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
}

WaitOutcome FutexWait(const std::atomic<uint32_t>& word, uint32_t expected, uint64_t deadline_ns) {
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline.
  timespec deadline = ToTimespec(deadline_ns);
  long rc = syscall(SYS_futex, Address(word), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected,
                    deadline_ns != 0 ? &deadline : nullptr, nullptr, FUTEX_BITSET_MATCH_ANY);
  return Outcome(rc, deadline_ns);
}

WaitOutcome FutexWaitEither(const std::atomic<uint32_t>& word, uint32_t expected,
                            const std::atomic<uint32_t>& other, uint32_t other_expected,
                            uint64_t deadline_ns) {
  futex_waitv waiters[2] = {};
  waiters[0].val = expected;
  waiters[0].uaddr = reinterpret_cast<uintptr_t>(Address(word));
  waiters[0].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
  waiters[1].val = other_expected;
  waiters[1].uaddr = reinterpret_cast<uintptr_t>(Address(other));
  waiters[1].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
  timespec deadline = ToTimespec(deadline_ns);
  long rc = syscall(SYS_futex_waitv, waiters, 2, 0, deadline_ns != 0 ? &deadline : nullptr,
                    CLOCK_MONOTONIC);
  if (rc < 0 && errno == ENOSYS) {
    if (other.load() != other_expected) return WaitOutcome::kWoken;
    uint64_t slice = MonotonicNs() + kPollSliceNs;
    FutexWait(word, expected, deadline_ns != 0 ? std::min(deadline_ns, slice) : slice);
    return deadline_ns != 0 && MonotonicNs() >= deadline_ns ? WaitOutcome::kTimedOut
                                                            : WaitOutcome::kWoken;
  }
  return Outcome(rc, deadline_ns);
}

void FutexWake(const std::atomic<uint32_t>& word, int count) {
  syscall(SYS_futex, Address(word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count);
}

}  // namespace ringfence::internal
