// Futex waits with absolute deadlines, and a wait on two words at once (a
// lock word and the waiter's compartment kill word), so that killing a
// compartment wakes its thread from any blocking host service without a lost
// wake-up.
#ifndef RINGFENCE_SRC_GATE_FUTEX_H_
#define RINGFENCE_SRC_GATE_FUTEX_H_

#include <atomic>
#include <cstdint>

namespace ringfence::internal {

// CLOCK_MONOTONIC now, in nanoseconds.
uint64_t MonotonicNs();

enum class WaitOutcome {
  kWoken,     // woken, or a word no longer held its expected value (maybe spurious)
  kTimedOut,  // the deadline passed
};

// Sleeps while *word == expected, until woken or `deadline_ns` (absolute
// MonotonicNs; 0 = no deadline).
WaitOutcome FutexWait(const std::atomic<uint32_t>& word, uint32_t expected, uint64_t deadline_ns);

// Sleeps while *word == expected and *other == other_expected.
WaitOutcome FutexWaitEither(const std::atomic<uint32_t>& word, uint32_t expected,
                            const std::atomic<uint32_t>& other, uint32_t other_expected,
                            uint64_t deadline_ns);

// Wakes up to `count` waiters on `word`.
void FutexWake(const std::atomic<uint32_t>& word, int count);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_GATE_FUTEX_H_
