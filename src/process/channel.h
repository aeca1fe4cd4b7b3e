// The channel between the host and one worker process: a shared memory
// file (memfd) both map, holding two one-way rings of fixed-size messages,
// the words each side sleeps on, a payload area for service requests and
// the worker's crash record.
//
// Protocol (one call in flight per worker, as a compartment runs one call at
// a time; nesting allowed):
//   worker -> host  kReady once it is locked down and its module started.
//   host -> worker  kCall (seq n); the worker answers kReturn (seq n), or,
//                   first, any number of kService requests (seq m, counting
//                   up from 1 per worker), each answered by kServiceReply
//                   (seq m) before it continues. While a kService waits for
//                   its reply, the host may send a nested kCall (a call back
//                   into the same module), answered before the reply.
//
// Trust: the host trusts nothing the worker writes here. It copies each
// message out of the ring before looking at it, checks ring indices, message
// kinds, sequence numbers, service ids and payload lengths, and treats any
// violation as the module's crash (the worker is killed), never its own.
//
// Waking: each side spins briefly, then sleeps on a futex word in this
// memory (non-private futexes: two processes). The host also wakes when the
// worker dies: `worker_alive` is on the worker's robust futex list, so the
// kernel marks it owner-died and wakes it when the worker's serving thread
// exits for any reason.
//
// Shared by the host (src/process) and the worker program (src/process/worker).
#ifndef RINGFENCE_SRC_PROCESS_CHANNEL_H_
#define RINGFENCE_SRC_PROCESS_CHANNEL_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ringfence::internal {

inline constexpr uint32_t kChannelMagic = 0x48434652;  // "RFCH"
inline constexpr uint32_t kChannelVersion = 1;
inline constexpr uint32_t kRingSlots = 64;              // a power of two
inline constexpr uint32_t kPayloadBytes = 64 * 1024;    // service request data
inline constexpr uint32_t kCrashBacktraceMax = 32;

enum MessageKind : uint32_t {
  kMessageNone = 0,
  // host -> worker
  kMessageCall = 1,          // a = export index; slots = arguments
  kMessageServiceReply = 2,  // seq = the request's; slots[0] = result
  // worker -> host
  kMessageReady = 16,   // slots[0..1] = the module's executable range, slots[2] = its load base
  kMessageReturn = 17,  // seq = the call's; slots[0] = result
  kMessageService = 18, // seq = next request number; a = ServiceId; slots = arguments;
                        // b = payload bytes at payload[0, b) (names, log text)
};

// Host services a worker asks for (module.h / native_abi.h). Arguments in
// slots, in the service's parameter order; pointer arguments are the
// payload (b bytes) and are not in the slots.
enum ServiceId : uint32_t {
  kServiceLog = 1,             // slots: level; payload: message
  kServiceClockNs = 2,
  kServiceSleepNs = 3,         // slots: ns
  kServiceHandleClose = 4,     // slots: handle
  kServiceLockOpen = 5,        // payload: name
  kServiceLockAcquire = 6,     // slots: handle
  kServiceLockRelease = 7,     // slots: handle
  kServiceLockMarkConsistent = 8,
  kServiceRegionOpen = 9,      // payload: name
  kServiceRegionOffset = 10,   // slots: handle
  kServiceRegionSize = 11,     // slots: handle
  kServiceCallStatus = 12,
  kServiceCallLinked = 13,     // slots[0] = import index, slots[1..] = arguments
  kServiceFaultPoint = 14,     // payload: name
};
inline constexpr uint32_t kServiceIdMax = kServiceFaultPoint;

struct Message {
  uint32_t kind;
  uint32_t seq;
  uint32_t a;
  uint32_t b;
  uint64_t slots[6];
};
static_assert(sizeof(Message) == 64);
// Arguments a call or a linked call carries (slots[1..] for linked calls).
inline constexpr uint32_t kMaxCallArgs = 5;

// One producer, one consumer. `head` counts messages written (producer's),
// `tail` messages read (consumer's); both only grow (mod 2^32).
struct Ring {
  alignas(64) std::atomic<uint32_t> head;
  alignas(64) std::atomic<uint32_t> tail;
  alignas(64) Message slots[kRingSlots];
};

// What the worker's fatal-signal handler leaves for the host before it dies.
struct CrashRecord {
  std::atomic<uint32_t> written;  // 1 once the fields below are complete
  int32_t signal;                 // SIGSEGV, SIGSYS, ...
  int32_t code;                   // si_code
  int32_t syscall;                // for SIGSYS: the denied system call's number
  uint64_t address;               // si_addr
  uint64_t pc;                    // the faulting instruction
  uint32_t depth;                 // backtrace entries
  uint32_t reserved;
  uint64_t backtrace[kCrashBacktraceMax];  // call sites, innermost first
};

struct ChannelLayout {
  uint32_t magic;
  uint32_t version;
  // The worker's serving thread id | FUTEX_WAITERS while it lives; the
  // kernel replaces it by FUTEX_OWNER_DIED (and wakes the host) when that
  // thread dies. `robust_next` is the worker's robust-list link (a worker
  // address: only the worker and its kernel use it).
  alignas(64) uint64_t robust_next;
  std::atomic<uint32_t> worker_alive;
  // Bumped (then woken) by the side that pushed a message for the other.
  alignas(64) std::atomic<uint32_t> host_doorbell;
  alignas(64) std::atomic<uint32_t> worker_doorbell;
  Ring to_worker;
  Ring to_host;
  CrashRecord crash;
  alignas(64) uint8_t payload[kPayloadBytes];
};

// Bytes of the shared memory file, rounded up to pages.
inline constexpr size_t kChannelBytes = (sizeof(ChannelLayout) + 4095) & ~size_t{4095};

// Pushes `message`; false if the ring is full (or its indices are garbage:
// the consumer's tail is not within one ring of our head).
inline bool RingPush(Ring& ring, const Message& message) {
  uint32_t head = ring.head.load(std::memory_order_relaxed);
  uint32_t tail = ring.tail.load(std::memory_order_acquire);
  if (head - tail >= kRingSlots) return false;
  std::memcpy(&ring.slots[head % kRingSlots], &message, sizeof(Message));
  ring.head.store(head + 1, std::memory_order_release);
  return true;
}

enum class PopOutcome { kMessage, kEmpty, kCorrupt };

// Copies the oldest message out into *message. kCorrupt if the producer's
// head is more than a ring ahead of our tail (garbage indices).
inline PopOutcome RingPop(Ring& ring, Message* message) {
  uint32_t tail = ring.tail.load(std::memory_order_relaxed);
  uint32_t head = ring.head.load(std::memory_order_acquire);
  if (head == tail) return PopOutcome::kEmpty;
  if (head - tail > kRingSlots) return PopOutcome::kCorrupt;
  std::memcpy(message, &ring.slots[tail % kRingSlots], sizeof(Message));
  ring.tail.store(tail + 1, std::memory_order_release);
  return PopOutcome::kMessage;
}

// Futexes on shared memory (not FUTEX_PRIVATE_FLAG: two processes).
inline uint32_t* FutexAddress(std::atomic<uint32_t>& word) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  return reinterpret_cast<uint32_t*>(&word);
}
// Sleeps while word == expected, at most `timeout_ns` (0: no limit).
inline void SharedFutexWait(std::atomic<uint32_t>& word, uint32_t expected, uint64_t timeout_ns) {
  timespec timeout{static_cast<time_t>(timeout_ns / 1'000'000'000),
                   static_cast<long>(timeout_ns % 1'000'000'000)};
  syscall(SYS_futex, FutexAddress(word), FUTEX_WAIT, expected, timeout_ns != 0 ? &timeout : nullptr,
          nullptr, 0);
}
inline void SharedFutexWake(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, FutexAddress(word), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

// Pushes and rings: bumps `doorbell` and wakes its sleeper. False if the
// ring is full.
inline bool SendMessage(Ring& ring, std::atomic<uint32_t>& doorbell, const Message& message) {
  if (!RingPush(ring, message)) return false;
  doorbell.fetch_add(1, std::memory_order_seq_cst);
  SharedFutexWake(doorbell);
  return true;
}

// Spin iterations before a waiting side sleeps on its doorbell.
inline constexpr uint32_t kSpinIterations = 4000;

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_PROCESS_CHANNEL_H_
