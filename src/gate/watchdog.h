// The watchdog: one background thread that fires a callback when a deadline
// passes, and again every millisecond for as long as the callback asks (a
// preemption signal can land while the thread runs host code, where it is
// ignored; a later one lands in module code) or until the entry is disarmed.
//
// Thread-safe. Entries live in the caller's frame: Arm before the call,
// Disarm after it, on the same thread. Disarm waits for a callback running
// for that entry to finish, so the entry's target stays valid for it.
#ifndef RINGFENCE_SRC_GATE_WATCHDOG_H_
#define RINGFENCE_SRC_GATE_WATCHDOG_H_

#include <cstdint>

namespace ringfence::internal {

struct WatchdogEntry {
  uint64_t deadline_ns = 0;  // CLOCK_MONOTONIC
  // Returns true to be fired again a millisecond later, false to be
  // disarmed. Runs on the watchdog thread.
  bool (*fire)(void* target) = nullptr;
  void* target = nullptr;
  // Owned by the watchdog.
  bool armed = false;
  uint64_t next_fire_ns = 0;
  WatchdogEntry* prev = nullptr;
  WatchdogEntry* next = nullptr;
};

// Arms `entry`; does nothing if it is armed already.
void ArmWatchdog(WatchdogEntry* entry);
// Disarms `entry` if it is armed. Not from a fire callback.
void DisarmWatchdog(WatchdogEntry* entry);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_GATE_WATCHDOG_H_
