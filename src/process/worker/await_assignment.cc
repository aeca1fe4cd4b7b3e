#include "src/process/worker/await_assignment.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "src/process/worker_assignment.h"
#include "src/process/worker_exit.h"

namespace ringfence::worker {
namespace {

using internal::kAssignmentMaxBytes;
using internal::kAssignmentMaxFds;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "ringfence-worker: bad assignment from the host: %s\n", what);
  std::exit(internal::kWorkerExitSetupFailed);
}

// Moves `fds` to kFirstAssignedFd, kFirstAssignedFd + 1, ... by way of
// numbers above all of those, so no move overwrites a descriptor still to
// be moved.
void PlaceFds(const std::vector<int>& fds) {
  std::vector<int> staged;
  for (int fd : fds) {
    int high = fcntl(fd, F_DUPFD, 64);
    if (high < 0) Fail("cannot move its descriptors");
    close(fd);
    staged.push_back(high);
  }
  for (size_t i = 0; i < staged.size(); ++i) {
    int target = internal::kFirstAssignedFd + static_cast<int>(i);
    if (dup2(staged[i], target) != target) Fail("cannot move its descriptors");
    close(staged[i]);
  }
}

}  // namespace

void AnnouncePrepared(int socket_fd) {
  // A host already gone shows as end of file in AwaitAssignment.
  send(socket_fd, &internal::kWorkerPrepared, 1, MSG_NOSIGNAL);
}

WorkerOptions AwaitAssignment(const WorkerOptions& idle, char* program) {
  std::vector<char> text(kAssignmentMaxBytes + 1);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kAssignmentMaxFds)];
  iovec part{text.data(), text.size()};
  msghdr message{};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t received;
  do {
    received = recvmsg(idle.await_fd, &message, MSG_CMSG_CLOEXEC);
  } while (received < 0 && errno == EINTR);
  if (received == 0) std::exit(internal::kWorkerExitNotNeeded);
  if (received < 0) Fail(std::strerror(errno));
  std::vector<int> fds;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
      fds.push_back(fd);
    }
  }
  if ((message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) Fail("too long");
  if (text[static_cast<size_t>(received) - 1] != '\0') Fail("its command line is not terminated");
  close(idle.await_fd);
  PlaceFds(fds);

  // The received words, then the parent's pid from our own command line.
  std::vector<std::string> words = {program};
  for (size_t at = 0; at < static_cast<size_t>(received);) {
    std::string word(text.data() + at);
    at += word.size() + 1;
    words.push_back(std::move(word));
  }
  words.push_back("--parent-pid");
  words.push_back(std::to_string(idle.parent_pid));
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  WorkerOptions options = ParseWorkerOptions(static_cast<int>(words.size()), argv.data());
  if (options.await_fd >= 0) Fail("it asks to wait for another assignment");
  return options;
}

}  // namespace ringfence::worker
