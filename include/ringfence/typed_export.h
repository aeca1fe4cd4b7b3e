// TypedExport: a checked, typed handle to one export of one compartment.
//
//   TypedExport<int32_t(int32_t, int32_t)> add =
//       compartment->GetExport<int32_t(int32_t, int32_t)>("add").value();
//   Result<int32_t> sum = add(2, 3);
//
// Contract:
//  - Made by Compartment::GetExport, which checked the export's name and
//    signature once; calling it checks nothing again.
//  - A call has the outcomes of any compartment call (compartment.h): the
//    value, a Trap (the instance was discarded), or a Status (the call did
//    not run).
//  - Cheap to copy; valid while its compartment lives (the compartment must
//    outlive it). Callable from any thread, as the compartment is.
//  - The fast path: a thread that called the compartment last, with no
//    deadline and no fault injector, calls the export inline (a few stores
//    and one call, no system call). Any other call takes the full path.
#ifndef RINGFENCE_TYPED_EXPORT_H_
#define RINGFENCE_TYPED_EXPORT_H_

#include <cstdint>
#include <type_traits>

#include "ringfence/internal/fast_call.h"
#include "ringfence/result.h"

namespace ringfence {

class Compartment;

template <typename Sig>
class TypedExport;

template <typename R, typename... A>
class TypedExport<R(A...)> {
 public:
  // Calls the export. See the contract above.
  [[gnu::always_inline]] inline Result<R> operator()(A... args) const;

 private:
  friend class Compartment;
  explicit TypedExport(const internal::ExportTarget& target)
      : entry_(target.entry),
        index_(target.index),
        function_(target.function),
        gate_(target.gate) {}

  // The call for everything the fast path does not cover.
  [[gnu::noinline]] Result<R> SlowCall(A... args) const;

  internal::CallEntry* entry_;  // the compartment's entry state
  uint32_t index_;
  void (*function_)();  // the export itself; needs a recovery point armed
  void (*gate_)();      // the module's gate, which arms one
};

// The fast path, for a thread that holds the compartment's claim (it called
// it last, the instance is live, no deadline applies): raise the depth,
// check the claim again, arm recovery, call. With clang the recovery point
// is armed right here, inlined into the caller, and the export is called
// directly: a few stores, no system call, one call. Other compilers will not
// inline a function that uses __builtin_setjmp, so they call the module's
// own gate instead (an extra call level, same guarantees).
template <typename R, typename... A>
[[gnu::always_inline]] inline Result<R> TypedExport<R(A...)>::operator()(A... args) const {
  using Return = typename internal::GateType<R>::type;
  internal::ThreadGate& gate = internal::t_thread_gate;
  internal::CallEntry& entry = *entry_;
  uint32_t depth;
  if (!entry.TryEnterFast(gate, &depth)) [[unlikely]] return SlowCall(args...);
#if defined(__clang__)
  rf_frame frame;
  frame.prev = gate.thread.top;
  if (__builtin_setjmp(frame.jmp)) [[unlikely]] {
    internal::t_thread_gate.thread.top = frame.prev;
    return entry_->TakeTrap(index_, depth);
  }
  // Everything a value needs after the recovery point is loaded after it,
  // so the compiler need not keep it in memory across it.
  void* instance = entry_->live_instance();
  frame.instance = instance;
  internal::t_thread_gate.thread.top = &frame;
  using Function = Return (*)(void*, typename internal::GateType<A>::type...);
  Function function = reinterpret_cast<Function>(function_);
#else
  rf_thread* thread = &gate.thread;
  void* instance = entry.live_instance();
  using Gate = Return (*)(rf_thread*, void*, typename internal::GateType<A>::type...);
  Gate gate_function = reinterpret_cast<Gate>(gate_);
#endif
  if constexpr (std::is_void_v<R>) {
#if defined(__clang__)
    function(instance, static_cast<typename internal::GateType<A>::type>(args)...);
    internal::t_thread_gate.thread.top = frame.prev;
#else
    gate_function(thread, instance, static_cast<typename internal::GateType<A>::type>(args)...);
    if (thread->trap_kind != RF_TRAP_NONE) [[unlikely]] return entry.TakeTrap(index_, depth);
#endif
    entry_->LeaveFast(depth, internal::t_thread_gate.claim_token);
    return Result<void>();
  } else {
#if defined(__clang__)
    Return value = function(instance, static_cast<typename internal::GateType<A>::type>(args)...);
    internal::t_thread_gate.thread.top = frame.prev;
#else
    Return value =
        gate_function(thread, instance, static_cast<typename internal::GateType<A>::type>(args)...);
    if (thread->trap_kind != RF_TRAP_NONE) [[unlikely]] return entry.TakeTrap(index_, depth);
#endif
    entry_->LeaveFast(depth, internal::t_thread_gate.claim_token);
    return static_cast<R>(value);
  }
}

template <typename R, typename... A>
Result<R> TypedExport<R(A...)>::SlowCall(A... args) const {
#if defined(__clang__)
  // Frames this thread's fast path arms need this unwinder (set before the
  // call can grant the fast path).
  internal::CurrentThread()->inline_unwind = internal::UnwindInlineFrame;
#endif
  uint64_t slots[sizeof...(A) + 1] = {};
  internal::SlotPacker<R(A...)>::Pack(slots, args...);
  return internal::FromSlotResult<R>(entry_->CallSlots(index_, slots));
}

}  // namespace ringfence

#endif  // RINGFENCE_TYPED_EXPORT_H_
