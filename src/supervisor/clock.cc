#include "ringfence/clock.h"

#include <thread>

namespace ringfence {
namespace {

class SteadyClock : public Clock {
 public:
  uint64_t NowNs() override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  }
  void SleepUntilNs(uint64_t ns) override {
    std::this_thread::sleep_until(std::chrono::steady_clock::time_point(
        std::chrono::nanoseconds(static_cast<int64_t>(ns))));
  }
};

}  // namespace

Clock& SystemClock() {
  static SteadyClock clock;
  return clock;
}

uint64_t UnixTimeNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void ManualClock::SleepUntilNs(uint64_t ns) {
  uint64_t now = now_.load();
  while (now < ns && !now_.compare_exchange_weak(now, ns)) {
  }
}

}  // namespace ringfence
