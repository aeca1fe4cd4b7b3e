#include "ringfence/trap.h"

#include <fmt/format.h>

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
