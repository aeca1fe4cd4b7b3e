// ringfence_rogue_worker: a test-only stand-in for ringfence-worker that
// breaks the channel protocol on purpose (tests/channel_abuse_test.cc). The
// host starts it like the real worker: idle, then given its channel over the
// assignment socket. RINGFENCE_WORKER points to a link to it named
// rogue-MODE; it maps the channel and misbehaves as MODE says:
//
//   bad_ready          first message is a kMessageReturn, not a ready
//   bad_ready_range    a ready whose code range is empty (begin >= end)
//   never_ready        never says anything (sleeps until killed)
// after a valid ready, on the first call:
//   corrupt_indices    to_host.head = tail + 1000
//   corrupt_tail       to_worker.tail = head + 1000, then a service request
//                      (the host's reply cannot be pushed)
//   wrong_seq          kMessageReturn with the call's seq + 5
//   unknown_kind       a message of kind 999
//   unknown_service    kMessageService with service id 77
//   huge_payload       a log request announcing kPayloadBytes + 1 bytes
//   bad_link           a linked call to import 1000
//   flood              clock requests seq 1, 2, 3, ... without waiting for
//                      replies, forever; replies are read and dropped
//   flood_no_read      the same, never reading to_worker
//   exit_silently      exit(0), no crash record
//   exit_unregistered  like exit_silently, but the worker never put
//                      worker_alive on its robust list (its death is not
//                      announced through the channel)
//   fake_death         sets worker_alive to FUTEX_OWNER_DIED and keeps running
//   garbage_crash      a crash record full of out-of-range values, then exit
//
// Any other mode (or none): a valid ready, then exit(0) on the first call.
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <CLI/CLI.hpp>

#include "src/process/channel.h"
#include "src/process/worker_assignment.h"

namespace {

using namespace ringfence::internal;

ChannelLayout* channel = nullptr;

[[noreturn]] void SleepForever() {
  for (;;) pause();
}

[[noreturn]] void ExitNow(int code) {
  syscall(SYS_exit_group, code);
  __builtin_unreachable();
}

// As the real worker does: worker_alive on the robust list, so the kernel
// tells the host when this thread dies.
robust_list_head robust_head;
void RegisterWorkerAlive() {
  auto* entry = reinterpret_cast<robust_list*>(&channel->robust_next);
  channel->robust_next = reinterpret_cast<uintptr_t>(&robust_head.list);
  robust_head.list.next = entry;
  robust_head.futex_offset = static_cast<long>(offsetof(ChannelLayout, worker_alive)) -
                             static_cast<long>(offsetof(ChannelLayout, robust_next));
  syscall(SYS_set_robust_list, &robust_head, sizeof(robust_head));
  uint32_t tid = static_cast<uint32_t>(syscall(SYS_gettid));
  channel->worker_alive.store(tid | FUTEX_WAITERS, std::memory_order_release);
}

void Push(const Message& message) {
  while (!SendMessage(channel->to_host, channel->host_doorbell, message)) {
    __builtin_ia32_pause();
  }
}

Message Receive() {
  Message message;
  for (;;) {
    uint32_t bell = channel->worker_doorbell.load(std::memory_order_acquire);
    switch (RingPop(channel->to_worker, &message)) {
      case PopOutcome::kMessage: return message;
      case PopOutcome::kCorrupt: ExitNow(4);
      case PopOutcome::kEmpty: break;
    }
    SharedFutexWait(channel->worker_doorbell, bell, 0);
  }
}

void SendReady(uint32_t kind, uint64_t begin, uint64_t end) {
  Message ready{};
  ready.kind = kind;
  ready.slots[0] = begin;
  ready.slots[1] = end;
  ready.slots[2] = begin;  // load base
  Push(ready);
}

Message Service(uint32_t seq, uint32_t id) {
  Message request{};
  request.kind = kMessageService;
  request.seq = seq;
  request.a = id;
  return request;
}

[[noreturn]] void Flood(bool read_replies) {
  for (uint32_t seq = 1;; ++seq) {
    Message request = Service(seq, kServiceClockNs);
    do {
      if (read_replies) {
        Message dropped;
        while (RingPop(channel->to_worker, &dropped) == PopOutcome::kMessage) {
        }
      }
    } while (!RingPush(channel->to_host, request));
    channel->host_doorbell.fetch_add(1);
    SharedFutexWake(channel->host_doorbell);
  }
}

[[noreturn]] void Misbehave(const std::string& mode, const Message& call) {
  if (mode == "corrupt_indices") {
    channel->to_host.head.store(channel->to_host.tail.load() + 1000, std::memory_order_release);
    channel->host_doorbell.fetch_add(1);
    SharedFutexWake(channel->host_doorbell);
    SleepForever();
  }
  if (mode == "corrupt_tail") {
    channel->to_worker.tail.store(channel->to_worker.head.load() + 1000);
    Push(Service(1, kServiceClockNs));
    SleepForever();
  }
  if (mode == "wrong_seq" || mode == "unknown_kind") {
    Message reply{};
    reply.kind = mode == "wrong_seq" ? kMessageReturn : 999;
    reply.seq = mode == "wrong_seq" ? call.seq + 5 : call.seq;
    Push(reply);
    SleepForever();
  }
  if (mode == "unknown_service") {
    Push(Service(1, 77));
    SleepForever();
  }
  if (mode == "huge_payload") {
    Message request = Service(1, kServiceLog);
    request.b = kPayloadBytes + 1;
    Push(request);
    SleepForever();
  }
  if (mode == "bad_link") {
    Message request = Service(1, kServiceCallLinked);
    request.slots[0] = 1000;
    Push(request);
    SleepForever();
  }
  if (mode == "flood") Flood(/*read_replies=*/true);
  if (mode == "flood_no_read") Flood(/*read_replies=*/false);
  if (mode == "fake_death") {
    channel->worker_alive.store(FUTEX_OWNER_DIED);
    SharedFutexWake(channel->worker_alive);
    SleepForever();
  }
  if (mode == "garbage_crash") {
    CrashRecord& crash = channel->crash;
    crash.signal = SIGSEGV;
    crash.code = -12345;
    crash.syscall = -1;
    crash.address = ~uint64_t{0};
    crash.pc = 0x1234;
    crash.depth = 0xFFFFFFFF;
    for (uint64_t& frame : crash.backtrace) frame = 0x1800;
    crash.written.store(1, std::memory_order_release);
    ExitNow(1);
  }
  // exit_silently, exit_unregistered
  ExitNow(0);
}

// The channel from the host's assignment (src/process/worker_assignment.h):
// its first descriptor. The rest of it is not needed to misbehave.
int AwaitChannel(int socket_fd) {
  send(socket_fd, &kWorkerPrepared, 1, MSG_NOSIGNAL);
  char text[kAssignmentMaxBytes];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kAssignmentMaxFds)];
  iovec part{text, sizeof text};
  msghdr message{};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  if (recvmsg(socket_fd, &message, 0) <= 0) ExitNow(0);
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (header == nullptr || header->cmsg_type != SCM_RIGHTS) ExitNow(2);
  int fd;
  std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
  int socket_fd = -1;
  CLI::App app{"ringfence_rogue_worker: breaks the channel protocol for tests"};
  app.allow_extras();
  app.add_option("--await-assignment", socket_fd)->required();
  CLI11_PARSE(app, argc, argv);
  int channel_fd = AwaitChannel(socket_fd);
  void* memory = mmap(nullptr, kChannelBytes, PROT_READ | PROT_WRITE, MAP_SHARED, channel_fd, 0);
  if (memory == MAP_FAILED) ExitNow(2);
  channel = static_cast<ChannelLayout*>(memory);
  std::string name = argv[0];
  size_t dash = name.rfind("rogue-");
  std::string mode = dash != std::string::npos ? name.substr(dash + 6) : "";

  if (mode != "exit_unregistered") RegisterWorkerAlive();
  if (mode == "never_ready") SleepForever();
  // Made-up code range: the host only checks that it is one.
  if (mode == "bad_ready") SendReady(kMessageReturn, 0x1000, 0x2000);
  if (mode == "bad_ready_range") SendReady(kMessageReady, 0x2000, 0x2000);
  if (mode.rfind("bad_ready", 0) == 0) SleepForever();
  SendReady(kMessageReady, 0x1000, 0x2000);
  Misbehave(mode, Receive());
}
