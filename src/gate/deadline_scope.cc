#include "ringfence/deadline.h"

#include <algorithm>

#include "ringfence/internal/thread_gate.h"
#include "src/gate/futex.h"

namespace ringfence {
namespace {

void SetDeadline(internal::ThreadGate& gate, uint64_t deadline_ns) {
  gate.deadline_ns = deadline_ns;
  // A thread under a deadline matches no compartment's fast-path claim.
  gate.claim_token = deadline_ns == 0 ? &gate : nullptr;
}

}  // namespace

DeadlineScope::DeadlineScope(std::chrono::nanoseconds timeout) {
  internal::ThreadGate& gate = *internal::CurrentThreadGate();
  previous_deadline_ns_ = gate.deadline_ns;
  uint64_t deadline = internal::MonotonicNs() + static_cast<uint64_t>(std::max<int64_t>(timeout.count(), 0));
  SetDeadline(gate, previous_deadline_ns_ == 0 ? deadline : std::min(previous_deadline_ns_, deadline));
}

DeadlineScope::~DeadlineScope() { SetDeadline(internal::t_thread_gate, previous_deadline_ns_); }

}  // namespace ringfence
