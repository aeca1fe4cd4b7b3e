// Clock: the supervisor's notion of time, injectable so that backoff and
// restart-intensity decisions can be tested without sleeping.
//
// Thread-safety: implementations must be safe to call from any thread.
#ifndef RINGFENCE_CLOCK_H_
#define RINGFENCE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ringfence {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds from an arbitrary origin.
  virtual uint64_t NowNs() = 0;
  // Returns once NowNs() >= ns (at once if it already is).
  virtual void SleepUntilNs(uint64_t ns) = 0;
};

// The steady (monotonic) clock, with real sleeps. A process-wide instance.
Clock& SystemClock();

// Wall-clock time, ns since the Unix epoch (for reports, not for intervals).
uint64_t UnixTimeNs();

// A clock that moves only when told: SleepUntilNs advances it to the wake
// time at once (a sleeping thread never waits), Advance moves it forward.
// For tests and reproducible simulations.
class ManualClock : public Clock {
 public:
  explicit ManualClock(uint64_t start_ns = 1'000'000'000) : now_(start_ns) {}
  uint64_t NowNs() override { return now_.load(); }
  void SleepUntilNs(uint64_t ns) override;
  void Advance(std::chrono::nanoseconds by) { now_.fetch_add(static_cast<uint64_t>(by.count())); }

 private:
  std::atomic<uint64_t> now_;
};

}  // namespace ringfence

#endif  // RINGFENCE_CLOCK_H_
