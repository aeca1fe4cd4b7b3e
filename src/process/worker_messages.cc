#include "src/process/worker_messages.h"

#include <seccomp.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "src/process/process_instance.h"

namespace ringfence::internal {
namespace {

// si_code of a SIGSYS raised by a seccomp filter (the kernel's SYS_SECCOMP,
// which glibc's headers do not define).
constexpr int kSeccompSigsysCode = 1;

uint32_t KindOfSignal(int signal, int code) {
  switch (signal) {
    case SIGSEGV:
    case SIGBUS: return RF_TRAP_OOB;
    case SIGILL:   // ud2: __builtin_trap()
    case SIGABRT:  // abort()
      return RF_TRAP_UNREACHABLE;
    case SIGFPE:
      if (code == FPE_INTDIV) return RF_TRAP_DIV_BY_ZERO;
      if (code == FPE_INTOVF) return RF_TRAP_INT_OVERFLOW;
      return RF_TRAP_SIGNAL;
    case SIGSYS:
      // Only seccomp's SIGSYS is a denied system call; one the module sent
      // itself names none.
      return code == kSeccompSigsysCode ? RF_TRAP_SYSCALL : RF_TRAP_SIGNAL;
  }
  return RF_TRAP_SIGNAL;
}

}  // namespace

std::optional<WorkerCode> DecodeReady(const Message& message, uint64_t file_size) {
  if (message.kind != kMessageReady || message.slots[0] >= message.slots[1] ||
      message.slots[2] > message.slots[0]) {
    return std::nullopt;
  }
  return WorkerCode{message.slots[2], message.slots[0], message.slots[1], file_size};
}

uintptr_t HostCodeAddress(const WorkerCode& code, uint64_t address) {
  if (address < code.begin || address >= code.end || address < code.load_base) return 0;
  uint64_t offset = address - code.load_base;
  if (offset >= code.file_size) return 0;
  return kNativeCodeBase + offset;
}

CallMessage ClassifyCallMessage(const Message& message, uint32_t call_seq,
                                uint32_t last_service_seq) {
  if (message.kind == kMessageReturn && message.seq == call_seq) return CallMessage::kReturn;
  if (message.kind == kMessageService && message.seq == last_service_seq + 1) {
    return CallMessage::kService;
  }
  return CallMessage::kViolation;
}

std::optional<WorkerCrash> DecodeCrashRecord(const CrashRecord& record, const WorkerCode& code) {
  if (record.written.load(std::memory_order_acquire) != 1 || record.signal <= 0 ||
      record.signal >= 65) {
    return std::nullopt;
  }
  WorkerCrash crash;
  crash.signal = record.signal;
  crash.trap_kind = KindOfSignal(record.signal, record.code);
  crash.pc = HostCodeAddress(code, record.pc);
  uint32_t depth = 0;
  if (crash.pc != 0) crash.backtrace[depth++] = crash.pc;
  for (uint32_t i = 0; i < std::min(record.depth, kCrashBacktraceMax) && depth < RF_BACKTRACE_MAX;
       ++i) {
    uintptr_t address = HostCodeAddress(code, record.backtrace[i]);
    if (address == 0) break;
    crash.backtrace[depth++] = address;
  }
  crash.backtrace_depth = depth;
  if (crash.trap_kind == RF_TRAP_SYSCALL) {
    // A number the kernel has no call for is shown as such, never as a
    // name; the worker's word either way (Trap::worker_reported).
    char* name = record.syscall >= 0
                     ? seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, record.syscall)
                     : nullptr;
    crash.syscall =
        name != nullptr ? name : fmt::format("unknown system call number {}", record.syscall);
    std::free(name);
  }
  return crash;
}

}  // namespace ringfence::internal
