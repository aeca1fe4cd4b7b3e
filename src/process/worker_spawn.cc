#include "src/process/worker_spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace ringfence::internal {
namespace {

// The worker finds its inherited descriptors at these numbers.
constexpr int kChannelFd = 3;
constexpr int kCodeFd = 4;
constexpr int kFirstRegionFd = 5;

Status Refused(std::string_view what, int error) {
  return Status(StatusCode::kUnavailable,
                fmt::format("cannot start a worker process: {}: {}", what, std::strerror(error)));
}

// Descriptors the spawn copies into place, first duplicated above every
// target number: dup2 into 3, 4, 5... must not overwrite a source that
// happens to sit at one of those numbers. Closed on scope exit.
class StagedFds {
 public:
  ~StagedFds() {
    for (int fd : fds_) close(fd);
  }
  // A close-on-exec duplicate of `fd` numbered 64 or above, or -1.
  int Stage(int fd) {
    int staged = fcntl(fd, F_DUPFD_CLOEXEC, 64);
    if (staged >= 0) fds_.push_back(staged);
    return staged;
  }

 private:
  std::vector<int> fds_;
};

// Closes what it holds on scope exit unless released.
struct FdPair {
  int read = -1;
  int write = -1;
  ~FdPair() {
    if (read >= 0) close(read);
    if (write >= 0) close(write);
  }
};

}  // namespace

StatusOr<SpawnedWorker> SpawnWorker(const WorkerSpawnRequest& request) {
  FdPair out, err;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Refused("pipe", errno);
  out.read = fds[0];
  out.write = fds[1];
  if (pipe2(fds, O_CLOEXEC) != 0) return Refused("pipe", errno);
  err.read = fds[0];
  err.write = fds[1];

  std::vector<std::string> args = {
      request.program,          "--module",     request.module_name,
      "--parent-pid",           std::to_string(getpid()),
      "--channel-fd",           std::to_string(kChannelFd),
      "--code-fd",              std::to_string(kCodeFd),
      "--memory-limit",         std::to_string(request.memory_limit_bytes)};
  StagedFds staged;
  int channel_fd = staged.Stage(request.channel_fd);
  int code_fd = staged.Stage(request.code_fd);
  int out_fd = staged.Stage(out.write);
  int err_fd = staged.Stage(err.write);
  std::vector<int> region_fds;
  for (const WorkerRegion& region : request.regions) region_fds.push_back(staged.Stage(region.fd));
  if (channel_fd < 0 || code_fd < 0 || out_fd < 0 || err_fd < 0 ||
      std::find(region_fds.begin(), region_fds.end(), -1) != region_fds.end()) {
    return Refused("dup", errno);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  posix_spawn_file_actions_adddup2(&actions, channel_fd, kChannelFd);
  posix_spawn_file_actions_adddup2(&actions, code_fd, kCodeFd);
  int next_fd = kFirstRegionFd;
  for (size_t i = 0; i < request.regions.size(); ++i) {
    const WorkerRegion& region = request.regions[i];
    posix_spawn_file_actions_adddup2(&actions, region_fds[i], next_fd);
    args.push_back("--region");
    args.push_back(fmt::format("{}:{}:{}", next_fd, region.address, region.size));
    ++next_fd;
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

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
  int spawned = posix_spawn(&pid, request.program.c_str(), &actions, &attributes, argv.data(),
                            environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) return Refused(request.program, spawned);

  SpawnedWorker worker;
  worker.pid = pid;
  worker.pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (worker.pidfd < 0) {
    int error = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return Refused("pidfd_open", error);
  }
  worker.stdout_fd = out.read;
  worker.stderr_fd = err.read;
  out.read = -1;
  err.read = -1;
  return worker;
}

}  // namespace ringfence::internal
