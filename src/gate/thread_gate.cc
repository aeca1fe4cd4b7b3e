#include "ringfence/internal/thread_gate.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <mutex>
#include <unordered_set>

#include "ringfence/internal/module_abi.h"
#include "ringfence/status.h"
#include "src/gate/fault_handler.h"

namespace ringfence::internal {

__thread ThreadGate t_thread_gate;

namespace {

// Room below a thread's stack where module code running out of stack can
// fault: its stack pointer moves at most RF_MAX_STACK_STEP between touches
// (probed frames; clang uses the red zone only in leaves whose frame it
// fits, a few words below a touched return address). The first touch past
// the stack therefore lands in the guard page below it; a fault any farther
// is not this thread's stack running out (it may be another thread's
// memory) and is never claimed. Exactly glibc's default guard, one page.
constexpr uintptr_t kStackGuardZone = RF_MAX_STACK_STEP;
constexpr size_t kAltStackBytes = 64 * 1024;
constexpr size_t kAltStackGuard = 4096;

pthread_key_t g_alt_stack_key;

void FreeAltStack(void* mapping) {
  stack_t disable = {};
  disable.ss_flags = SS_DISABLE;
  sigaltstack(&disable, nullptr);
  munmap(mapping, kAltStackGuard + kAltStackBytes);
}

// Stack exhaustion is delivered while the normal stack is unusable, so the
// handler needs a stack of its own. Keeps one the host installed.
void EnsureAltStack() {
  static std::once_flag once;
  std::call_once(once, [] { RF_CHECK(pthread_key_create(&g_alt_stack_key, FreeAltStack) == 0); });
  stack_t current;
  RF_CHECK(sigaltstack(nullptr, &current) == 0);
  if ((current.ss_flags & SS_DISABLE) == 0) return;
  void* mapping = mmap(nullptr, kAltStackGuard + kAltStackBytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  RF_CHECK(mapping != MAP_FAILED);
  RF_CHECK(mprotect(mapping, kAltStackGuard, PROT_NONE) == 0);
  stack_t stack = {};
  stack.ss_sp = static_cast<char*>(mapping) + kAltStackGuard;
  stack.ss_size = kAltStackBytes;
  RF_CHECK(sigaltstack(&stack, nullptr) == 0);
  RF_CHECK(pthread_setspecific(g_alt_stack_key, mapping) == 0);
}

// Gates of the threads that are still running: WaitOutOfFastEntry reads
// another thread's gate, which is freed with that thread's stack.
std::mutex g_live_gates_mutex;
std::unordered_set<const ThreadGate*>& LiveGates() {
  static auto* gates = new std::unordered_set<const ThreadGate*>();  // never destroyed
  return *gates;
}
pthread_key_t g_live_gate_key;

void ForgetGate(void* gate) {
  std::lock_guard lock(g_live_gates_mutex);
  LiveGates().erase(static_cast<const ThreadGate*>(gate));
}

void RememberGate(ThreadGate* gate) {
  static std::once_flag once;
  std::call_once(once, [] { RF_CHECK(pthread_key_create(&g_live_gate_key, ForgetGate) == 0); });
  {
    std::lock_guard lock(g_live_gates_mutex);
    LiveGates().insert(gate);
  }
  RF_CHECK(pthread_setspecific(g_live_gate_key, gate) == 0);
}

void FindStackBounds(uintptr_t* low, uintptr_t* high) {
  pthread_attr_t attr;
  RF_CHECK(pthread_getattr_np(pthread_self(), &attr) == 0);
  void* address = nullptr;
  size_t size = 0;
  RF_CHECK(pthread_attr_getstack(&attr, &address, &size) == 0);
  pthread_attr_destroy(&attr);
  auto begin = reinterpret_cast<uintptr_t>(address);
  *low = begin > kStackGuardZone ? begin - kStackGuardZone : 0;
  *high = begin + size;
}

}  // namespace

void InitThreadGate() {
  ThreadGate& gate = t_thread_gate;
  if (gate.ready) return;
  InstallFaultHandlers();
  EnsureAltStack();
  FindStackBounds(&gate.stack_low, &gate.stack_high);
  gate.self = pthread_self();
  gate.claim_token = gate.deadline_ns == 0 ? &gate : nullptr;
  gate.entering = nullptr;
  gate.calling_out = nullptr;
  RememberGate(&gate);
  gate.ready = true;
}

void WaitOutOfFastEntry(const ThreadGate* holder, const void* compartment) {
  while (true) {
    {
      std::lock_guard lock(g_live_gates_mutex);
      if (LiveGates().count(holder) == 0) return;
      // Acquire: once the entry is over, its store to the depth is visible.
      auto& entering = const_cast<const void*&>(holder->entering);
      if (std::atomic_ref<const void*>(entering).load(std::memory_order_acquire) != compartment) {
        return;
      }
    }
    sched_yield();
  }
}

}  // namespace ringfence::internal
