// Compartment: one live instance of a module, in its own 4 GiB window.
//
// Create one from a loaded Module and call its exports:
//
//   auto compartment = Compartment::Create(module).value();
//   Result<int32_t> sum = compartment->Call<int32_t(int32_t, int32_t)>("add", 2, 3);
//
// or look an export up once and call it many times (the fast path):
//
//   auto add = compartment->GetExport<int32_t(int32_t, int32_t)>("add").value();
//   Result<int32_t> sum = add(2, 3);
//
// Outcomes of a call (see result.h): the value; a Trap if the module faulted
// (the instance is discarded at once - its memory reset, its tables freed -
// and the next call runs on a fresh instance made from the module's pristine
// state); or a Status if the call could not run (no such export, wrong
// signature, the fresh instance could not be made).
//
// Threads: a Compartment runs module code on one thread at a time; it is not
// safe to call one compartment from several threads at once (use one
// compartment per thread). Different compartments may be called concurrently
// from different threads. A compartment must outlive its TypedExports and
// Windows.
#ifndef RINGFENCE_COMPARTMENT_H_
#define RINGFENCE_COMPARTMENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ringfence/internal/thread_gate.h"
#include "ringfence/module_file.h"
#include "ringfence/result.h"
#include "ringfence/status.h"
#include "ringfence/trap.h"
#include "ringfence/value.h"
#include "ringfence/window.h"

namespace ringfence {

struct CompartmentOptions {
  // Most memory the module may have; memory.grow past it fails (returns -1,
  // so malloc returns NULL), and a module whose initial memory is larger
  // fails to start (kInstantiateFailed, trap kind memory-limit). Rounded down
  // to 64 KiB pages; at most 4 GiB - 64 KiB.
  uint64_t memory_limit_bytes = uint64_t{256} << 20;
};

class Compartment;

namespace internal {
// The C type a gate trampoline uses for a C++ parameter or result type.
template <typename T> struct GateType;
template <> struct GateType<int32_t> { using type = uint32_t; };
template <> struct GateType<uint32_t> { using type = uint32_t; };
template <> struct GateType<int64_t> { using type = uint64_t; };
template <> struct GateType<uint64_t> { using type = uint64_t; };
template <> struct GateType<float> { using type = float; };
template <> struct GateType<double> { using type = double; };
template <> struct GateType<void> { using type = void; };

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
}  // namespace internal

// A checked, typed handle to one export of one compartment. Cheap to copy.
template <typename Sig>
class TypedExport;

template <typename R, typename... A>
class TypedExport<R(A...)> {
 public:
  // Calls the export. See the outcomes at the top of this file.
  [[gnu::always_inline]] inline Result<R> operator()(A... args) const;

 private:
  friend class Compartment;
  TypedExport(Compartment* compartment, uint32_t index, const rf_export& entry)
      : compartment_(compartment), index_(index), function_(entry.function), gate_(entry.gate) {}

  Compartment* compartment_;
  uint32_t index_;
  void (*function_)();  // the export itself; needs a recovery point armed
  void (*gate_)();      // the module's gate, which arms one
};

class Compartment {
 public:
  enum class State {
    kReady,  // an instance is live and can serve calls
    kDead,   // the instance trapped and was discarded; the next call restarts it
  };

  // Reserves the window and makes the first instance (memory, tables, data,
  // then the module's _initialize). Errors: kResourceExhausted (no address
  // space for the window), kInstantiateFailed (the module trapped while
  // starting, e.g. its initial memory is over the limit).
  static StatusOr<std::unique_ptr<Compartment>> Create(
      std::shared_ptr<const Module> module, CompartmentOptions options = {});

  ~Compartment();
  Compartment(const Compartment&) = delete;
  Compartment& operator=(const Compartment&) = delete;

  // Looks up `name` and checks that its signature is Sig. Errors: kNotFound,
  // kSignatureMismatch.
  template <typename Sig>
  StatusOr<TypedExport<Sig>> GetExport(std::string_view name) {
    Signature expected = internal::SignatureOf<Sig>::Get();
    StatusOr<uint32_t> index = CheckExport(name, expected);
    if (!index.ok()) return index.status();
    return TypedExport<Sig>(this, *index, ExportEntry(*index));
  }

  // GetExport and call in one step.
  template <typename Sig, typename... Args>
  Result<typename internal::SignatureOf<Sig>::Return> Call(std::string_view name, Args... args) {
    StatusOr<TypedExport<Sig>> function = GetExport<Sig>(name);
    if (!function.ok()) return function.status();
    return (*function)(args...);
  }

  // Calls an export with runtime-typed arguments (for tools). Errors:
  // kNotFound, kInvalidArgument (wrong number or types of arguments).
  Result<std::optional<Value>> CallDynamic(std::string_view name, std::span<const Value> args);

  // Discards the current instance (if any) and makes a fresh one now.
  Status Restart();

  State state() const { return live_instance_ != nullptr ? State::kReady : State::kDead; }
  const Module& module() const { return *module_; }
  const std::shared_ptr<const Module>& shared_module() const { return module_; }
  // Instances made after the first (restarts after traps and Restart()).
  uint64_t restart_count() const { return restart_count_; }
  // The most recent trap, if any.
  const std::optional<Trap>& last_trap() const { return last_trap_; }
  // Checked access to the module's memory.
  Window window() { return Window(this); }

  // Internal: the live instance's memory, or null.
  const wasm_rt_memory_t* memory() const;

 private:
  template <typename Sig> friend class TypedExport;

  Compartment(std::shared_ptr<const Module> module, rf_import_context* core);

  StatusOr<uint32_t> CheckExport(std::string_view name, const Signature& expected) const;
  const rf_export& ExportEntry(uint32_t index) const;
  // Makes a fresh instance if the compartment is dead.
  [[gnu::noinline, gnu::cold]] Status Revive();
  Status Instantiate();
  void DiscardInstance();
  // Turns the pending trap on this thread into a Trap; discards the instance.
  [[gnu::noinline, gnu::cold]] Trap TakeTrap(uint32_t export_index);

  std::shared_ptr<const Module> module_;
  rf_import_context* core_;  // owned; holds the instance and the window
  void* instance_;           // wasm2c instance inside core_
  // instance_ while it is live, null while the compartment is dead: the one
  // load and test the call path needs.
  void* live_instance_ = nullptr;
  bool ever_instantiated_ = false;
  uint64_t restart_count_ = 0;
  std::optional<Trap> last_trap_;
};

namespace internal {
#if defined(__clang__)
// Jumps back to a recovery point armed by TypedExport::operator() below;
// compiled by the same compiler, as __builtin_longjmp requires.
__attribute__((noreturn)) inline void UnwindInlineFrame(rf_frame* frame) {
  __builtin_longjmp(frame->jmp, 1);
}
// Sets up the thread (once) and records the unwinder its inline frames need.
[[gnu::cold, gnu::noinline]] inline void PrepareInlineThread() {
  CurrentThread()->inline_unwind = UnwindInlineFrame;
}
#endif
}  // namespace internal

// The fast path. With clang the recovery point is armed right here, inlined
// into the caller, and the export is called directly: a few stores, no
// system call, one call. Other compilers will not inline a function that
// uses __builtin_setjmp, so they call the module's own gate instead (an extra
// call level, same guarantees).
template <typename R, typename... A>
[[gnu::always_inline]] inline Result<R> TypedExport<R(A...)>::operator()(A... args) const {
  using Return = typename internal::GateType<R>::type;
#if defined(__clang__)
  // One check covers both "thread set up" and "this unwinder recorded".
  if (internal::t_thread_gate.thread.inline_unwind != internal::UnwindInlineFrame) [[unlikely]] {
    internal::PrepareInlineThread();
  }
  if (compartment_->live_instance_ == nullptr) [[unlikely]] {
    Status status = compartment_->Revive();
    if (!status.ok()) return status;
  }
  rf_frame frame;
  frame.prev = internal::t_thread_gate.thread.top;
  if (__builtin_setjmp(frame.jmp)) [[unlikely]] {
    internal::t_thread_gate.thread.top = frame.prev;
    return compartment_->TakeTrap(index_);
  }
  // Everything a value needs after the recovery point is loaded after it,
  // so the compiler need not keep it in memory across it.
  void* instance = compartment_->live_instance_;
  frame.instance = instance;
  internal::t_thread_gate.thread.top = &frame;
  using Function = Return (*)(void*, typename internal::GateType<A>::type...);
  Function function = reinterpret_cast<Function>(function_);
  if constexpr (std::is_void_v<R>) {
    function(instance, static_cast<typename internal::GateType<A>::type>(args)...);
    internal::t_thread_gate.thread.top = frame.prev;
    return Result<void>();
  } else {
    Return value = function(instance, static_cast<typename internal::GateType<A>::type>(args)...);
    internal::t_thread_gate.thread.top = frame.prev;
    return static_cast<R>(value);
  }
#else
  rf_thread* thread = internal::CurrentThread();
  Compartment& compartment = *compartment_;
  void* instance = compartment.live_instance_;
  if (instance == nullptr) [[unlikely]] {
    Status status = compartment.Revive();
    if (!status.ok()) return status;
    instance = compartment.live_instance_;
  }
  using Gate = Return (*)(rf_thread*, void*, typename internal::GateType<A>::type...);
  Gate gate = reinterpret_cast<Gate>(gate_);
  if constexpr (std::is_void_v<R>) {
    gate(thread, instance, static_cast<typename internal::GateType<A>::type>(args)...);
    if (thread->trap_kind != RF_TRAP_NONE) [[unlikely]] return compartment.TakeTrap(index_);
    return Result<void>();
  } else {
    Return value = gate(thread, instance, static_cast<typename internal::GateType<A>::type>(args)...);
    if (thread->trap_kind != RF_TRAP_NONE) [[unlikely]] return compartment.TakeTrap(index_);
    return static_cast<R>(value);
  }
#endif
}

}  // namespace ringfence

#endif  // RINGFENCE_COMPARTMENT_H_
