#include "src/compartment/call_deadline.h"

#include <algorithm>

#include "src/gate/futex.h"

namespace ringfence::internal {

uint64_t DeadlineFrom(uint64_t thread_deadline_ns, std::chrono::nanoseconds timeout) {
  if (timeout.count() <= 0) return thread_deadline_ns;
  uint64_t own = MonotonicNs() + static_cast<uint64_t>(timeout.count());
  return thread_deadline_ns == 0 ? own : std::min(thread_deadline_ns, own);
}

}  // namespace ringfence::internal
