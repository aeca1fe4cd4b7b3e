// Per-thread gate state. Internal: used by the inline call path in
// compartment.h; not part of the API.
#ifndef RINGFENCE_INTERNAL_THREAD_GATE_H_
#define RINGFENCE_INTERNAL_THREAD_GATE_H_

#include <pthread.h>

#include <cstdint>

#include "ringfence/internal/module_abi.h"

namespace ringfence::internal {

struct ThreadGate {
  rf_thread thread;  // what module code and the fault handler see
  bool ready;        // InitThreadGate() ran on this thread
  // Native stack of this thread, including the guard zone below it: a fault
  // here from module code is stack exhaustion.
  uintptr_t stack_low;
  uintptr_t stack_high;
  pthread_t self;  // for the watchdog's preemption signal
  // Deadline (CLOCK_MONOTONIC ns, 0 = none) of the call this thread is
  // executing; blocking host services and nested calls honour it.
  uint64_t deadline_ns;
};

// Plain __thread (no dynamic initialisation) keeps each access one load.
extern __thread ThreadGate t_thread_gate;

// Installs the process's fault handlers (once), this thread's alternate
// signal stack and its stack bounds. Idempotent.
[[gnu::cold]] void InitThreadGate();

inline rf_thread* CurrentThread() {
  if (!t_thread_gate.ready) [[unlikely]] InitThreadGate();
  return &t_thread_gate.thread;
}

}  // namespace ringfence::internal

#endif  // RINGFENCE_INTERNAL_THREAD_GATE_H_
