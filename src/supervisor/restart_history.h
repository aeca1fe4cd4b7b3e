// The bookkeeping behind restart intensity and backoff: when the recent
// restarts of a module or group happened. Not thread-safe (the supervisor's
// lock guards it).
#ifndef RINGFENCE_SRC_SUPERVISOR_RESTART_HISTORY_H_
#define RINGFENCE_SRC_SUPERVISOR_RESTART_HISTORY_H_

#include <chrono>
#include <cstdint>
#include <deque>

#include "ringfence/supervision_policy.h"

namespace ringfence::internal {

class RestartHistory {
 public:
  // Restarts recorded within `window` before `now_ns`.
  uint32_t RecentCount(uint64_t now_ns, std::chrono::nanoseconds window);
  // Records a restart at `now_ns`. True if that makes more than
  // intensity.max_restarts within intensity.window: the intensity is exceeded.
  bool RecordAndCheck(uint64_t now_ns, const Intensity& intensity);
  void Clear() { times_ns_.clear(); }

 private:
  void Forget(uint64_t now_ns, std::chrono::nanoseconds window);
  std::deque<uint64_t> times_ns_;
};

// The wait before a restart when `recent` restarts already happened in the
// window: zero for the first, then initial * multiplier^(recent-1), capped.
std::chrono::nanoseconds BackoffDelay(const Backoff& backoff, uint32_t recent);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_SUPERVISOR_RESTART_HISTORY_H_
