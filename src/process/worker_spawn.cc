#include "src/process/worker_spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "src/process/worker_assignment.h"

namespace ringfence::internal {
namespace {

// The idle worker finds its assignment socket here.
constexpr int kSocketFd = 3;

Status Refused(std::string_view what, int error) {
  return Status(StatusCode::kUnavailable,
                fmt::format("cannot start a worker process: {}: {}", what, std::strerror(error)));
}

// Closes what it holds on scope exit unless released.
struct FdPair {
  int ends[2] = {-1, -1};
  ~FdPair() {
    for (int fd : ends) {
      if (fd >= 0) close(fd);
    }
  }
  int Release(int i) { return std::exchange(ends[i], -1); }
};

// A close-on-exec duplicate of `fd` numbered 64 or above (or -1), so that
// the spawn's dup2 into 1, 2, 3 cannot overwrite a source sitting at one of
// those numbers.
int Stage(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 64); }

}  // namespace

StatusOr<IdleWorker> SpawnIdleWorker(const std::string& program) {
  FdPair out, err, link;
  if (pipe2(out.ends, O_CLOEXEC) != 0 || pipe2(err.ends, O_CLOEXEC) != 0) {
    return Refused("pipe", errno);
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, link.ends) != 0) {
    return Refused("socketpair", errno);
  }
  FdPair staged_out, staged_link;
  staged_out.ends[0] = Stage(out.ends[1]);
  staged_out.ends[1] = Stage(err.ends[1]);
  staged_link.ends[0] = Stage(link.ends[1]);
  if (staged_out.ends[0] < 0 || staged_out.ends[1] < 0 || staged_link.ends[0] < 0) {
    return Refused("dup", errno);
  }
  std::vector<std::string> args = {program, "--parent-pid", std::to_string(getpid()),
                                   "--await-assignment", std::to_string(kSocketFd)};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  char* no_environment[] = {nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, staged_out.ends[0], 1);
  posix_spawn_file_actions_adddup2(&actions, staged_out.ends[1], 2);
  posix_spawn_file_actions_adddup2(&actions, staged_link.ends[0], kSocketFd);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setpgroup(&attributes, 0);  // its own process group
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(),
                            no_environment);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) return Refused(program, spawned);

  IdleWorker worker;
  worker.program = program;
  worker.pid = pid;
  worker.pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (worker.pidfd < 0) {
    int error = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return Refused("pidfd_open", error);
  }
  worker.stdout_fd = out.Release(0);
  worker.stderr_fd = err.Release(0);
  worker.socket_fd = link.Release(0);
  return worker;
}

void KillWorker(int pidfd) { syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0); }

bool ReapIfExited(int pidfd, siginfo_t* status) {
  siginfo_t info{};
  bool reaped = waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG) == 0 &&
                info.si_pid != 0;
  if (status != nullptr) *status = info;
  return reaped;
}

void CloseIdleWorker(IdleWorker& worker) {
  for (int* fd : {&worker.pidfd, &worker.socket_fd, &worker.stdout_fd, &worker.stderr_fd}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

Status AssignWorker(const IdleWorker& worker, const WorkerAssignment& assignment) {
  // The descriptors go to kFirstAssignedFd + i in this order.
  std::vector<int> fds = {assignment.channel_fd, assignment.code_fd};
  std::vector<std::string> words = {
      "--module",     assignment.module_name,
      "--channel-fd", std::to_string(kFirstAssignedFd),
      "--code-fd",    std::to_string(kFirstAssignedFd + 1),
      "--memory-limit", std::to_string(assignment.memory_limit_bytes)};
  for (const WorkerRegion& region : assignment.regions) {
    words.push_back("--region");
    words.push_back(fmt::format("{}:{}:{}", kFirstAssignedFd + static_cast<int>(fds.size()),
                                region.address, region.size));
    fds.push_back(region.fd);
  }
  std::string text;
  for (const std::string& word : words) text.append(word).push_back('\0');
  if (fds.size() > kAssignmentMaxFds || text.size() > kAssignmentMaxBytes) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("a process compartment maps at most {} shared regions",
                              kAssignmentMaxFds - 2));
  }
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  iovec part{text.data(), text.size()};
  msghdr message{};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  message.msg_control = control.data();
  message.msg_controllen = control.size();
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
  ssize_t sent;
  do {
    sent = sendmsg(worker.socket_fd, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent != static_cast<ssize_t>(text.size())) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("cannot give a worker process its module: {}",
                              sent < 0 ? std::strerror(errno) : "short send"));
  }
  return Status::Ok();
}

}  // namespace ringfence::internal
