#include "ringfence/trap.h"

#include <fmt/format.h>

#include "ringfence/internal/gate_abi.h"
#include "src/base/trap_codes.h"

namespace ringfence {

std::string_view TrapKindName(TrapKind kind) {
  switch (kind) {
    case TrapKind::kOutOfBounds: return "out-of-bounds";
    case TrapKind::kUnreachable: return "unreachable";
    case TrapKind::kDivideByZero: return "divide-by-zero";
    case TrapKind::kIntegerOverflow: return "integer-overflow";
    case TrapKind::kInvalidConversion: return "invalid-conversion";
    case TrapKind::kIndirectCallMismatch: return "indirect-call-mismatch";
    case TrapKind::kStackExhausted: return "stack-exhausted";
    case TrapKind::kUncaughtException: return "uncaught-exception";
    case TrapKind::kExit: return "exit";
    case TrapKind::kMemoryLimit: return "memory-limit";
    case TrapKind::kTimeout: return "timeout";
    case TrapKind::kKilled: return "killed";
    case TrapKind::kInjected: return "injected";
    case TrapKind::kSignal: return "signal";
    case TrapKind::kSyscallDenied: return "syscall-denied";
    case TrapKind::kProtocolViolation: return "protocol-violation";
    case TrapKind::kWorkerFailed: return "worker-failed";
  }
  return "unknown";
}

namespace internal {

TrapKind TrapKindOf(uint32_t code) {
  switch (code) {
    case RF_TRAP_OOB: return TrapKind::kOutOfBounds;
    case RF_TRAP_INT_OVERFLOW: return TrapKind::kIntegerOverflow;
    case RF_TRAP_DIV_BY_ZERO: return TrapKind::kDivideByZero;
    case RF_TRAP_INVALID_CONVERSION: return TrapKind::kInvalidConversion;
    case RF_TRAP_UNREACHABLE: return TrapKind::kUnreachable;
    case RF_TRAP_CALL_INDIRECT: return TrapKind::kIndirectCallMismatch;
    case RF_TRAP_UNCAUGHT_EXCEPTION: return TrapKind::kUncaughtException;
    case RF_TRAP_EXHAUSTION: return TrapKind::kStackExhausted;
    case RF_TRAP_EXIT: return TrapKind::kExit;
    case RF_TRAP_MEMORY_LIMIT: return TrapKind::kMemoryLimit;
    case RF_TRAP_TIMEOUT: return TrapKind::kTimeout;
    case RF_TRAP_KILLED: return TrapKind::kKilled;
    case RF_TRAP_INJECTED: return TrapKind::kInjected;
    case RF_TRAP_SIGNAL: return TrapKind::kSignal;
    case RF_TRAP_SYSCALL: return TrapKind::kSyscallDenied;
    case RF_TRAP_PROTOCOL: return TrapKind::kProtocolViolation;
    case RF_TRAP_WORKER: return TrapKind::kWorkerFailed;
  }
  return TrapKind::kUnreachable;
}

}  // namespace internal

std::string Trap::ToString() const {
  std::string text = fmt::format("trap: {}", TrapKindName(kind));
  if (kind == TrapKind::kExit) text += fmt::format(" (code {})", exit_code);
  if (!syscall.empty()) {
    text += fmt::format(" ({})", syscall);
  } else if (signal != 0) {
    text += fmt::format(" (signal {})", signal);
  }
  text += fmt::format(" in {}", module);
  if (!export_name.empty()) text += fmt::format(".{}", export_name);
  if (!function.empty()) text += fmt::format(" (function {})", function);
  if (offset) text += fmt::format(" at window offset {:#x}", *offset);
  if (memory_limit_refused) {
    text += fmt::format(" after memory growth was refused at the {} MiB limit",
                        *memory_limit_refused >> 20);
  }
  if (!detail.empty()) text += fmt::format(": {}", detail);
  if (worker_reported) text += " [as reported by the worker: unverified]";
  return text;
}

}  // namespace ringfence
