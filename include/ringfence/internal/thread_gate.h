// Per-thread gate state. Internal: used by the inline call path
// (typed_export.h, internal/fast_call.h); not part of the API.
#ifndef RINGFENCE_INTERNAL_THREAD_GATE_H_
#define RINGFENCE_INTERNAL_THREAD_GATE_H_

#include <pthread.h>

#include <cstdint>

#include "ringfence/internal/gate_abi.h"

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
  // executing or of its DeadlineScope; blocking host services and nested
  // calls honour it.
  uint64_t deadline_ns;
  // What a compartment's fast-path claim must equal for this thread to take
  // the fast path: this ThreadGate, or null while a deadline applies (calls
  // with a deadline need the full path). Null until InitThreadGate.
  const void* claim_token;
  // The compartment this thread is entering by the fast path, from before
  // it checks the claim until its depth is raised (or it gave up), else
  // null. A thread revoking this thread's claim waits until this is no
  // longer that compartment (WaitOutOfFastEntry), so no fast entry that
  // started under the claim can store to the depth afterwards. Accessed
  // with std::atomic_ref.
  const void* entering;
  // The frame whose module code is out in a call to a linked module, else
  // null. While it is `thread.top`, the code this thread runs is not that
  // frame's, even where it lies in the same module's code: the callee's
  // gate (a compartment of the same module) before it has armed its own
  // frame and after it has left it, or the callee's instance being freed.
  // The signal handlers claim nothing then; unwinding to this frame would
  // skip the callee's exit and leave it entered by nobody.
  const rf_frame* calling_out;
};

// The value of a compartment's claim when no thread holds it: an address no
// thread's claim_token ever has (a thread's is its gate or null).
inline constexpr char kNoClaimTag = 0;
inline const void* const kNoClaim = &kNoClaimTag;

// Plain __thread (no dynamic initialisation) keeps each access one load.
extern __thread ThreadGate t_thread_gate;

// Installs the process's fault handlers (once), this thread's alternate
// signal stack and its stack bounds. Idempotent.
[[gnu::cold]] void InitThreadGate();

// Waits until the thread whose gate is `holder` is not in the middle of a
// fast entry into `compartment` (its `entering`), or has exited. Call after
// revoking that thread's claim and a process-wide barrier. The window is a
// few instructions, so this waits only if that thread was preempted inside.
void WaitOutOfFastEntry(const ThreadGate* holder, const void* compartment);

inline ThreadGate* CurrentThreadGate() {
  if (!t_thread_gate.ready) [[unlikely]] InitThreadGate();
  return &t_thread_gate;
}
inline rf_thread* CurrentThread() { return &CurrentThreadGate()->thread; }

}  // namespace ringfence::internal

#endif  // RINGFENCE_INTERNAL_THREAD_GATE_H_
