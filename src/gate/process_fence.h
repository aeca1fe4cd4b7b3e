// A memory barrier on every running thread of the process, issued by one
// thread (membarrier(2), private expedited). It lets a hot path on other
// threads get by with compiler-only fences: the rare side (taking a claim
// away) pays the barrier for both.
#ifndef RINGFENCE_SRC_GATE_PROCESS_FENCE_H_
#define RINGFENCE_SRC_GATE_PROCESS_FENCE_H_

namespace ringfence::internal {

// True if the kernel supports the barrier (checked and registered once).
bool ProcessFenceAvailable();

// Returns after every thread of the process has executed a full memory
// barrier. Requires ProcessFenceAvailable().
void ProcessFence();

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_GATE_PROCESS_FENCE_H_
