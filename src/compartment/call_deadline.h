// The deadline of a call or an instance's start-up: one rule for compartments
// and supervised modules alike.
#ifndef RINGFENCE_SRC_COMPARTMENT_CALL_DEADLINE_H_
#define RINGFENCE_SRC_COMPARTMENT_CALL_DEADLINE_H_

#include <chrono>
#include <cstdint>

namespace ringfence::internal {

// The deadline (CLOCK_MONOTONIC ns, 0: none) of a call or start-up that
// begins now on a thread whose own deadline (its DeadlineScope) is
// `thread_deadline_ns`, under a per-call `timeout` (zero or less: none):
// the earlier of the two (deadline.h: scopes combine with call_timeout the
// way nested scopes do).
uint64_t DeadlineFrom(uint64_t thread_deadline_ns, std::chrono::nanoseconds timeout);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_COMPARTMENT_CALL_DEADLINE_H_
