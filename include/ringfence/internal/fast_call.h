// The machinery of TypedExport's inline call path (typed_export.h). Internal:
// not part of the API; the compartment (src/compartment) implements the
// out-of-line partners declared here.
#ifndef RINGFENCE_INTERNAL_FAST_CALL_H_
#define RINGFENCE_INTERNAL_FAST_CALL_H_

#include <atomic>
#include <bit>
#include <cstdint>
#include <type_traits>

#include "ringfence/internal/gate_abi.h"
#include "ringfence/internal/thread_gate.h"
#include "ringfence/result.h"
#include "ringfence/trap.h"
#include "ringfence/value.h"

namespace ringfence::internal {

// The C type a gate trampoline uses for a C++ parameter or result type.
template <typename T> struct GateType;
template <> struct GateType<int32_t> { using type = uint32_t; };
template <> struct GateType<uint32_t> { using type = uint32_t; };
template <> struct GateType<int64_t> { using type = uint64_t; };
template <> struct GateType<uint64_t> { using type = uint64_t; };
template <> struct GateType<float> { using type = float; };
template <> struct GateType<double> { using type = double; };
template <> struct GateType<void> { using type = void; };

// A value's bits in a 64-bit slot (i32/f32 in the low half), and back.
template <typename T>
uint64_t ToSlot(T value) {
  if constexpr (sizeof(T) == 4) return std::bit_cast<uint32_t>(value);
  else return std::bit_cast<uint64_t>(value);
}
template <typename T>
T FromSlot(uint64_t slot) {
  if constexpr (sizeof(T) == 4) return std::bit_cast<T>(static_cast<uint32_t>(slot));
  else return std::bit_cast<T>(slot);
}

// Arguments to 64-bit slots, each converted to its parameter's type first.
template <typename Sig> struct SlotPacker;
template <typename R, typename... A>
struct SlotPacker<R(A...)> {
  static void Pack(uint64_t* slots, A... args) {
    size_t next = 0;
    ((slots[next++] = ToSlot(args)), ...);
  }
};

// A slot call's outcome as the typed result R.
template <typename R>
Result<R> FromSlotResult(const Result<uint64_t>& result) {
  if (result.trapped()) return result.trap();
  if (result.failed()) return result.status();
  if constexpr (std::is_void_v<R>) {
    return Result<void>();
  } else {
    return FromSlot<R>(result.value());
  }
}

template <typename Sig> struct SignatureOf;
template <typename R, typename... A>
struct SignatureOf<R(A...)> {
  static_assert((WasmTypeOf<A>().has_value() && ...),
                "export parameters must be int32_t, uint32_t, int64_t, uint64_t, float or double");
  static_assert(std::is_void_v<R> || WasmTypeOf<R>().has_value(),
                "export results must be void, int32_t, uint32_t, int64_t, uint64_t, float or double");
  using Return = R;
  static Signature Get() {
    Signature signature;
    (signature.params.push_back(*WasmTypeOf<A>()), ...);
    if constexpr (!std::is_void_v<R>) signature.result = *WasmTypeOf<R>();
    return signature;
  }
};

// The part of a compartment's state a call enters through: what the inline
// fast path reads and writes. The compartment's implementation
// (src/compartment/compartment_impl.h) derives from it, so a TypedExport
// points straight at it.
//
// Execution ownership: fast_owner_ is the thread that may enter without the
// compartment's entry mutex: set only while the instance is live, no deadline
// applies and no other thread waits. A thread that wants in clears it, then a
// process-wide barrier makes every fast entry that raced either visible in
// its thread's `entering` (and waited out, after which its depth_ store is
// visible) or aware of the cleared claim.
class CallEntry {
 public:
  CallEntry(const CallEntry&) = delete;
  CallEntry& operator=(const CallEntry&) = delete;

  // The fast entry, for a thread whose claim_token holds the claim:
  // announce the entry in the thread's gate, check the claim, raise the
  // depth, end the announcement. Only compiler fences between: a thread
  // revoking the claim issues a process-wide barrier, which orders the
  // announcement before the check on this CPU, so either the check sees
  // the claim gone or the revoker sees the announcement and waits for its
  // end (WaitOutOfFastEntry) before it reads the depth. So a fast entrant
  // never stores to the depth once another thread may have entered. On
  // success *outer_depth is the depth before; false (nothing changed)
  // means: take the slow path.
  [[gnu::always_inline]] bool TryEnterFast(ThreadGate& gate, uint32_t* outer_depth) {
    std::atomic_ref<const void*> entering(gate.entering);
    entering.store(this, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (fast_owner_.load(std::memory_order_relaxed) != gate.claim_token) [[unlikely]] {
      entering.store(nullptr, std::memory_order_relaxed);
      return false;
    }
    uint32_t depth = depth_.load(std::memory_order_relaxed);
    depth_.store(depth + 1, std::memory_order_relaxed);
    entering.store(nullptr, std::memory_order_release);
    *outer_depth = depth;
    return true;
  }
  // Leaves a frame TryEnterFast entered; wakes and settles only if the
  // claim was revoked meanwhile (someone may wait, or a kill may be
  // pending). The same barrier argument: either the revoker sees the lower
  // depth, or this thread sees the claim gone.
  [[gnu::always_inline]] void LeaveFast(uint32_t outer_depth, const void* claim_token) {
    depth_.store(outer_depth, std::memory_order_release);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (fast_owner_.load(std::memory_order_relaxed) != claim_token && outer_depth == 0) [[unlikely]] {
      AfterLastLeave();
    }
  }
  // The live instance, or null while the compartment is dead: the one load
  // and test the call path needs.
  void* live_instance() const { return live_instance_; }

  // After the depth fell to 0 (the store is done already, and must not be
  // repeated: another thread may have entered since): wakes a waiting
  // thread, settles a pending kill.
  [[gnu::noinline, gnu::cold]] void AfterLastLeave();
  // Turns the pending trap on this thread into a Trap, discards the
  // instance and leaves the frame entered at `outer_depth`.
  [[gnu::noinline, gnu::cold]] Trap TakeTrap(uint32_t export_index, uint32_t outer_depth);
  // The full call path (CompartmentImpl::CallSlots): what the fast path
  // hands everything else to.
  Result<uint64_t> CallSlots(uint32_t export_index, const uint64_t* args);

 protected:
  CallEntry() = default;
  ~CallEntry() = default;

  std::atomic<const void*> fast_owner_{kNoClaim};
  std::atomic<uint32_t> depth_{0};  // frames the owner has open; futex word
  void* live_instance_ = nullptr;
};

// What a TypedExport holds of one export: where calls enter, which export,
// and its code (rf_export's `function` and `gate`).
struct ExportTarget {
  CallEntry* entry;
  uint32_t index;
  void (*function)();  // the export itself; needs a recovery point armed
  void (*gate)();      // the module's gate, which arms one
};

#if defined(__clang__)
// Jumps back to a recovery point armed by TypedExport::operator(); compiled
// by the same compiler, as __builtin_longjmp requires.
__attribute__((noreturn)) inline void UnwindInlineFrame(rf_frame* frame) {
  __builtin_longjmp(frame->jmp, 1);
}
#endif

}  // namespace ringfence::internal

#endif  // RINGFENCE_INTERNAL_FAST_CALL_H_
