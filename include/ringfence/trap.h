// Trap: a module fault turned into a value.
//
// A call into module code returns its value, a Trap or an error Status
// (see result.h). A Trap says what the module did wrong; the compartment it
// happened in is dead by the time the caller holds the Trap and comes back
// from its module's pristine state on the next call.
#ifndef RINGFENCE_TRAP_H_
#define RINGFENCE_TRAP_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringfence {

enum class TrapKind {
  kOutOfBounds,           // memory or table access outside the module's window
  kUnreachable,           // `unreachable`, abort(), __builtin_trap()
  kDivideByZero,          // integer division or remainder by zero
  kIntegerOverflow,       // INT_MIN / -1, or a float too large to truncate
  kInvalidConversion,     // NaN converted to an integer
  kIndirectCallMismatch,  // call through a null or wrongly typed function
  kStackExhausted,        // native stack guard hit (unbounded recursion)
  kUncaughtException,     // wasm exception nobody caught
  kExit,                  // exit()/proc_exit from module code; see exit_code
  kMemoryLimit,           // instance needs more memory than allowed
  kTimeout,               // the call's deadline passed (watchdog preemption)
  kKilled,                // the host killed the compartment (Compartment::Kill)
  kInjected,              // a fault injected on purpose (fault_injection.h)
  // Process backend: the worker process died of ...
  kSignal,                // a fatal signal no kind above describes; see signal
  kSyscallDenied,         // a system call its sandbox denies; see syscall
  kProtocolViolation,     // garbage on the channel; see detail
  kWorkerFailed,          // the worker could not start or vanished; see detail
};

// Number of TrapKind values (they run from 0 to kTrapKindCount - 1): for
// tables indexed by kind.
inline constexpr size_t kTrapKindCount = static_cast<size_t>(TrapKind::kWorkerFailed) + 1;

// Stable lower-case name, e.g. "out-of-bounds", "divide-by-zero".
std::string_view TrapKindName(TrapKind kind);

struct Trap {
  TrapKind kind = TrapKind::kUnreachable;
  std::string module;      // module name
  std::string export_name; // export the call entered through ("" if none)
  std::string function;    // module function it happened in, if known
  // Window offset of the faulting access, for memory faults inside the window.
  std::optional<uint64_t> offset;
  int32_t exit_code = 0;   // for kExit
  // Set when the module's memory.grow had been refused at this limit (bytes)
  // before it trapped: malloc returned NULL, and the module likely died of it.
  std::optional<uint64_t> memory_limit_refused;
  // Module functions on the stack at the trap, innermost first: the one that
  // trapped, then its callers up to the export the call entered through. A
  // trap raised by a host service (timeout or kill in a blocking service,
  // memory limit) starts with the module function that called the service,
  // preceded by its import forwarder ("ringfence.sleep_ns") when the native
  // compiler kept that frame (clang does, gcc does not). At most
  // RF_BACKTRACE_MAX (32) entries, the innermost kept; empty when no module
  // code was on the stack. Names come from the wasm name section, demangled
  // ("?" if none). Functions the native compiler inlined into their caller
  // do not appear; code outside the module's own functions (ringfence's
  // runtime in the module file) is named after the function before it.
  std::vector<std::string> backtrace;
  // Process backend: the signal that ended the worker (0 if none), the
  // system call its sandbox denied ("" if none; a name such as "openat"),
  // and what went wrong in words where the kind alone does not say.
  int signal = 0;
  std::string syscall;
  std::string detail;
  // Process backend: true when kind, signal, syscall, function and backtrace
  // come from the worker's crash record. The worker's crash handler runs in
  // the module's process, where module code can write the record itself:
  // these are the worker's word, unverified (the host only checks they are
  // in range: a signal number, a known system call, addresses inside the
  // module's code). What the host knows for itself is that the worker
  // stopped serving and that it killed it.
  bool worker_reported = false;

  // One line for people: "trap: divide-by-zero in calc.divide (function
  // div_impl)". Starts with "trap:".
  std::string ToString() const;
};

}  // namespace ringfence

#endif  // RINGFENCE_TRAP_H_
