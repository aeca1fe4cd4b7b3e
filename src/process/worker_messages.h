// The host's reading of what a worker wrote into the channel (channel.h):
// its ready message, the reply kinds during a call, and its crash record.
// Pure functions of values the host has already copied out of the shared
// memory, so they see one consistent snapshot; the worker is hostile and
// any bit pattern is possible. Thread-safe (no state).
#ifndef RINGFENCE_SRC_PROCESS_WORKER_MESSAGES_H_
#define RINGFENCE_SRC_PROCESS_WORKER_MESSAGES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "ringfence/internal/module_abi.h"
#include "src/process/channel.h"

namespace ringfence::internal {

// Where the worker mapped the module's code, as its ready message says.
struct WorkerCode {
  uint64_t load_base = 0;  // the shared object's base in the worker
  uint64_t begin = 0;      // its executable range [begin, end)
  uint64_t end = 0;
  uint64_t file_size = 0;  // the code's size in the module file
};

// The worker's first message, for code of `file_size` bytes: nullopt
// unless it is a kMessageReady with a non-empty range that starts at or
// above the load base.
std::optional<WorkerCode> DecodeReady(const Message& message, uint64_t file_size);

// A worker address inside the module's code as a host-side code address
// (kNativeCodeBase + its offset in the shared object, below kNativeCodeBase
// + file_size); 0 if it is outside the executable range or the file.
uintptr_t HostCodeAddress(const WorkerCode& code, uint64_t address);

// What a message received during a call is: the call's return (its seq),
// the next service request (seq one past the last one's), or anything
// else, which breaks the protocol.
enum class CallMessage { kReturn, kService, kViolation };
CallMessage ClassifyCallMessage(const Message& message, uint32_t call_seq,
                                uint32_t last_service_seq);

// A crashed worker, from its crash record.
struct WorkerCrash {
  int32_t signal = 0;
  uint32_t trap_kind = RF_TRAP_NONE;  // from the signal and its si_code
  uintptr_t pc = 0;                   // HostCodeAddress of the faulting pc
  // The pc (if known), then the record's call sites up to the first one
  // outside the code, as host code addresses.
  uint32_t backtrace_depth = 0;
  uintptr_t backtrace[RF_BACKTRACE_MAX] = {};
  std::string syscall;  // SIGSYS: the denied system call's name
};

// nullopt unless the record is complete (written == 1) and names a signal
// (1..64): then the worker exited some other way, which its exit status says.
std::optional<WorkerCrash> DecodeCrashRecord(const CrashRecord& record, const WorkerCode& code);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_PROCESS_WORKER_MESSAGES_H_
