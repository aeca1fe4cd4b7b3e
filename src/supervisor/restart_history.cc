#include "src/supervisor/restart_history.h"

#include <algorithm>
#include <cmath>

namespace ringfence {

std::string_view RestartTypeName(RestartType type) {
  switch (type) {
    case RestartType::kPermanent: return "permanent";
    case RestartType::kTransient: return "transient";
    case RestartType::kTemporary: return "temporary";
  }
  return "permanent";
}

std::string_view StrategyName(Strategy strategy) {
  switch (strategy) {
    case Strategy::kOneForOne: return "one_for_one";
    case Strategy::kOneForAll: return "one_for_all";
    case Strategy::kRestForOne: return "rest_for_one";
  }
  return "one_for_one";
}

namespace internal {

void RestartHistory::Forget(uint64_t now_ns, std::chrono::nanoseconds window) {
  auto span = static_cast<uint64_t>(window.count());
  while (!times_ns_.empty() && now_ns - times_ns_.front() >= span) times_ns_.pop_front();
}

uint32_t RestartHistory::RecentCount(uint64_t now_ns, std::chrono::nanoseconds window) {
  Forget(now_ns, window);
  return static_cast<uint32_t>(times_ns_.size());
}

bool RestartHistory::RecordAndCheck(uint64_t now_ns, const Intensity& intensity) {
  Forget(now_ns, intensity.window);
  times_ns_.push_back(now_ns);
  return times_ns_.size() > intensity.max_restarts;
}

std::chrono::nanoseconds BackoffDelay(const Backoff& backoff, uint32_t recent) {
  if (recent == 0) return std::chrono::nanoseconds(0);
  double delay = static_cast<double>(backoff.initial.count()) *
                 std::pow(std::max(backoff.multiplier, 1.0), static_cast<double>(recent - 1));
  double cap = static_cast<double>(backoff.max.count());
  return std::chrono::nanoseconds(static_cast<int64_t>(std::min(delay, cap)));
}

}  // namespace internal
}  // namespace ringfence
