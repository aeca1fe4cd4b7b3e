// What a worker writes into the channel, from anywhere: the host's reading
// of a ready message, of a message during a call and of a crash record
// (src/process/worker_messages.h) takes any bits without crashing, and what
// it accepts keeps its promises: a code range that is not empty, host code
// addresses only inside the module's code, a backtrace within bounds, a
// trap kind that exists.
//
// The input is the bytes the host copies out of the shared memory: one
// message, then a crash record, then the code's size in the module file,
// the call's sequence numbers and addresses to map.
#include <fuzzer/FuzzedDataProvider.h>
#include <signal.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "src/process/process_instance.h"
#include "src/process/worker_messages.h"

namespace ringfence::internal {
namespace {

// Fills *out with the next sizeof(T) input bytes (zeros past the end), as
// the host copies a message or a record out of the shared memory.
template <typename T>
void CopyOut(FuzzedDataProvider& input, T* out) {
  std::vector<uint8_t> bytes = input.ConsumeBytes<uint8_t>(sizeof(T));
  bytes.resize(sizeof(T));
  std::memcpy(static_cast<void*>(out), bytes.data(), sizeof(T));
}

bool IsTrapKind(uint32_t kind) {
  switch (kind) {
    case RF_TRAP_OOB:
    case RF_TRAP_INT_OVERFLOW:
    case RF_TRAP_DIV_BY_ZERO:
    case RF_TRAP_UNREACHABLE:
    case RF_TRAP_SIGNAL:
    case RF_TRAP_SYSCALL:
      return true;
  }
  return false;
}

// A host code address of `code` made from worker address `address`.
void CheckHostAddress(const WorkerCode& code, uint64_t address, uintptr_t host) {
  if (host == 0) return;
  RF_CHECK(address >= code.begin && address < code.end && address >= code.load_base);
  RF_CHECK(host >= kNativeCodeBase && host - kNativeCodeBase < code.file_size);
  RF_CHECK(host - kNativeCodeBase == address - code.load_base);
}

}  // namespace
}  // namespace ringfence::internal

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringfence::internal;
  FuzzedDataProvider input(data, size);
  Message message;
  CopyOut(input, &message);
  CrashRecord record;
  CopyOut(input, &record);
  // Module code is a file the host read: far below 2^44 bytes, which would
  // run kNativeCodeBase + offset past the address space.
  uint64_t file_size = input.ConsumeIntegralInRange<uint64_t>(0, uint64_t{1} << 40);
  uint32_t call_seq = input.ConsumeIntegral<uint32_t>();
  uint32_t service_seq = input.ConsumeIntegral<uint32_t>();

  // Ready: before it the host knows only the file's size.
  std::optional<WorkerCode> ready = DecodeReady(message, file_size);
  if (ready) {
    RF_CHECK(message.kind == kMessageReady);
    RF_CHECK(ready->begin < ready->end && ready->load_base <= ready->begin);
    RF_CHECK(ready->file_size == file_size);
  }
  WorkerCode code = ready.value_or(WorkerCode{.file_size = file_size});
  for (uint64_t address : message.slots) CheckHostAddress(code, address, HostCodeAddress(code, address));
  while (input.remaining_bytes() >= sizeof(uint64_t)) {
    uint64_t address = input.ConsumeIntegral<uint64_t>();
    CheckHostAddress(code, address, HostCodeAddress(code, address));
  }

  switch (ClassifyCallMessage(message, call_seq, service_seq)) {
    case CallMessage::kReturn:
      RF_CHECK(message.kind == kMessageReturn && message.seq == call_seq);
      break;
    case CallMessage::kService:
      RF_CHECK(message.kind == kMessageService && message.seq == service_seq + 1);
      break;
    case CallMessage::kViolation:
      RF_CHECK(message.kind != kMessageReturn || message.seq != call_seq);
      break;
  }

  std::optional<WorkerCrash> crash = DecodeCrashRecord(record, code);
  if (!crash) return 0;
  RF_CHECK(record.written.load() == 1 && crash->signal == record.signal);
  RF_CHECK(crash->signal >= 1 && crash->signal <= 64);
  RF_CHECK(IsTrapKind(crash->trap_kind));
  CheckHostAddress(code, record.pc, crash->pc);
  RF_CHECK(crash->backtrace_depth <= RF_BACKTRACE_MAX);
  RF_CHECK(crash->pc == 0 || (crash->backtrace_depth > 0 && crash->backtrace[0] == crash->pc));
  for (uint32_t i = 0; i < crash->backtrace_depth; ++i) {
    RF_CHECK(crash->backtrace[i] >= kNativeCodeBase &&
             crash->backtrace[i] - kNativeCodeBase < code.file_size);
  }
  // Only seccomp's SIGSYS names a system call.
  RF_CHECK(crash->syscall.empty() == (crash->trap_kind != RF_TRAP_SYSCALL));
  RF_CHECK(crash->trap_kind != RF_TRAP_SYSCALL || crash->signal == SIGSYS);
  return 0;
}
