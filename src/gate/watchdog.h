// The watchdog: one background thread that fires a callback when a call's
// deadline passes, and again every millisecond until the call disarms it
// (a preemption signal can land while the thread runs host code, where it is
// ignored; the next one lands in module code).
//
// Thread-safe. Entries live in the caller's frame: Arm before the call,
// Disarm after it, on the same thread. Disarm waits for a callback running
// for that entry to finish, so the entry's target stays valid for it.
#ifndef RINGFENCE_SRC_GATE_WATCHDOG_H_
#define RINGFENCE_SRC_GATE_WATCHDOG_H_

#include <cstdint>

namespace ringfence::internal {

struct WatchdogEntry {
  uint64_t deadline_ns = 0;       // CLOCK_MONOTONIC
  void (*fire)(void* target) = nullptr;
  void* target = nullptr;
  // Owned by the watchdog while armed.
  uint64_t next_fire_ns = 0;
  WatchdogEntry* prev = nullptr;
  WatchdogEntry* next = nullptr;
};

void ArmWatchdog(WatchdogEntry* entry);
void DisarmWatchdog(WatchdogEntry* entry);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_GATE_WATCHDOG_H_
