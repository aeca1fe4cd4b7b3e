#include "src/process/worker/worker_channel.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "src/process/worker_exit.h"

namespace ringfence::worker {
namespace {

using internal::ChannelLayout;
using internal::Message;

ChannelLayout* channel = nullptr;
const rf_native_module* native_module = nullptr;
// Sequence number of the last service request (the first is 1).
uint32_t last_service_seq = 0;

// Ends the worker: the host sent something the protocol does not allow.
// exit_group directly: no atexit handlers or destructors of module code.
[[noreturn]] void ProtocolError() {
  syscall(SYS_exit_group, internal::kWorkerExitProtocolError);
  __builtin_unreachable();
}

void Send(const Message& message) {
  if (channel == nullptr) ProtocolError();
  // One call and its nested requests in flight: the ring is only full if
  // the host stopped reading.
  if (!internal::SendMessage(channel->to_host, channel->host_doorbell, message)) ProtocolError();
}

// The next message from the host: spin, then sleep on the doorbell with
// the value read before polling (a push after that changes it, so the wait
// returns at once).
Message Receive() {
  Message message;
  for (;;) {
    uint32_t bell = channel->worker_doorbell.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < internal::kSpinIterations; ++i) {
      switch (internal::RingPop(channel->to_worker, &message)) {
        case internal::PopOutcome::kMessage:
          return message;
        case internal::PopOutcome::kCorrupt:
          ProtocolError();
        case internal::PopOutcome::kEmpty:
          break;
      }
      __builtin_ia32_pause();
    }
    internal::SharedFutexWait(channel->worker_doorbell, bell, 0);
  }
}

void RunCall(const Message& call) {
  if (call.a >= native_module->export_count) ProtocolError();
  const rf_native_export& entry = native_module->exports[call.a];
  uint64_t result = 0;
  entry.call(call.slots, &result);  // LoadNativeModule checked: <= 6 parameters
  Message reply{};
  reply.kind = internal::kMessageReturn;
  reply.seq = call.seq;
  reply.slots[0] = result;
  Send(reply);
}

// Sends one service request and returns the host's slots[0], serving the
// calls the host makes into this module meanwhile.
uint64_t RequestService(internal::ServiceId service, const uint64_t* args, size_t arg_count,
                        const void* payload, size_t payload_length) {
  if (channel == nullptr) ProtocolError();
  Message request{};
  request.kind = internal::kMessageService;
  request.seq = ++last_service_seq;
  request.a = service;
  size_t length = std::min<size_t>(payload_length, internal::kPayloadBytes);
  if (length != 0) std::memcpy(channel->payload, payload, length);
  request.b = static_cast<uint32_t>(length);
  std::copy(args, args + std::min<size_t>(arg_count, 6), request.slots);
  Send(request);
  for (;;) {
    Message message = Receive();
    if (message.kind == internal::kMessageCall) {
      RunCall(message);  // the host calling back into this module
    } else if (message.kind == internal::kMessageServiceReply && message.seq == request.seq) {
      return message.slots[0];
    } else {
      ProtocolError();
    }
  }
}

uint64_t Slot(int32_t value) { return static_cast<uint32_t>(value); }
uint64_t Slot(int64_t value) { return static_cast<uint64_t>(value); }
int32_t Int32(uint64_t slot) { return static_cast<int32_t>(static_cast<uint32_t>(slot)); }

uint64_t Service(internal::ServiceId service) { return RequestService(service, nullptr, 0, nullptr, 0); }
uint64_t Service(internal::ServiceId service, uint64_t arg) {
  return RequestService(service, &arg, 1, nullptr, 0);
}
uint64_t ServiceWithText(internal::ServiceId service, const char* text, size_t length) {
  return RequestService(service, nullptr, 0, text, length);
}

void Log(int32_t level, const char* message, size_t length) {
  uint64_t arg = Slot(level);
  RequestService(internal::kServiceLog, &arg, 1, message, length);
}
int64_t ClockNs() { return static_cast<int64_t>(Service(internal::kServiceClockNs)); }
int32_t SleepNs(int64_t ns) { return Int32(Service(internal::kServiceSleepNs, Slot(ns))); }
int32_t HandleClose(int32_t handle) {
  return Int32(Service(internal::kServiceHandleClose, Slot(handle)));
}
int32_t LockOpen(const char* name, size_t length) {
  return Int32(ServiceWithText(internal::kServiceLockOpen, name, length));
}
int32_t LockAcquire(int32_t handle) {
  return Int32(Service(internal::kServiceLockAcquire, Slot(handle)));
}
int32_t LockRelease(int32_t handle) {
  return Int32(Service(internal::kServiceLockRelease, Slot(handle)));
}
int32_t LockMarkConsistent(int32_t handle) {
  return Int32(Service(internal::kServiceLockMarkConsistent, Slot(handle)));
}
int32_t RegionOpen(const char* name, size_t length) {
  return Int32(ServiceWithText(internal::kServiceRegionOpen, name, length));
}
int32_t RegionOffset(int32_t handle) {
  return Int32(Service(internal::kServiceRegionOffset, Slot(handle)));
}
int32_t RegionSize(int32_t handle) {
  return Int32(Service(internal::kServiceRegionSize, Slot(handle)));
}
int32_t CallStatus() { return Int32(Service(internal::kServiceCallStatus)); }
// `args` holds the import's arguments; the worker does not know its arity,
// so it forwards kMaxCallArgs slots: the caller (the native glue) passes an
// array of at least that many.
uint64_t CallLinked(uint32_t import_index, const uint64_t* args) {
  uint64_t slots[1 + internal::kMaxCallArgs] = {import_index};
  std::copy(args, args + internal::kMaxCallArgs, slots + 1);
  return RequestService(internal::kServiceCallLinked, slots, 1 + internal::kMaxCallArgs, nullptr, 0);
}
int32_t FaultPoint(const char* name, uint32_t length) {
  return Int32(ServiceWithText(internal::kServiceFaultPoint, name, length));
}

constexpr rf_worker_api kWorkerApi = {
    RF_NATIVE_ABI_VERSION, Log, ClockNs, SleepNs, HandleClose, LockOpen, LockAcquire,
    LockRelease, LockMarkConsistent, RegionOpen, RegionOffset, RegionSize, CallStatus,
    CallLinked, FaultPoint,
};

}  // namespace

const rf_worker_api& WorkerApi() { return kWorkerApi; }

void StartChannel(ChannelLayout* layout, const rf_native_module* module) {
  channel = layout;
  native_module = module;
}

void SendReady(uintptr_t code_begin, uintptr_t code_end, uintptr_t load_base) {
  Message ready{};
  ready.kind = internal::kMessageReady;
  ready.slots[0] = code_begin;
  ready.slots[1] = code_end;
  ready.slots[2] = load_base;
  Send(ready);
}

void Serve() {
  for (;;) {
    Message message = Receive();
    if (message.kind != internal::kMessageCall) ProtocolError();
    RunCall(message);
  }
}

}  // namespace ringfence::worker
