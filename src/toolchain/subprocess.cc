#include "src/toolchain/subprocess.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace ringfence::internal {

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) {
    if (!line.empty()) line += ' ';
    bool plain = !arg.empty() && arg.find_first_of(" \t\"'\\$") == std::string::npos;
    line += plain ? arg : "'" + arg + "'";
  }
  return line;
}

Status RunCommand(const std::vector<std::string>& argv, std::string* output) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  int pipe_fds[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (output != nullptr) {
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
      posix_spawn_file_actions_destroy(&actions);
      return Status(StatusCode::kBuildFailed, fmt::format("pipe failed: {}", std::strerror(errno)));
    }
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  }
  pid_t pid = 0;
  int spawn_error = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (output != nullptr) close(pipe_fds[1]);
  if (spawn_error != 0) {
    if (output != nullptr) close(pipe_fds[0]);
    return Status(StatusCode::kBuildFailed,
                  fmt::format("cannot run {}: {} (is it installed? run scripts/setup)", argv[0],
                              std::strerror(spawn_error)));
  }
  if (output != nullptr) {
    char buffer[4096];
    for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof(buffer))) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      output->append(buffer, static_cast<size_t>(n));
    }
    close(pipe_fds[0]);
  }
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return Status::Ok();
  std::string how = WIFEXITED(wait_status)
                        ? fmt::format("exited with status {}", WEXITSTATUS(wait_status))
                        : fmt::format("was killed by signal {}", WTERMSIG(wait_status));
  return Status(StatusCode::kBuildFailed, fmt::format("{} {}", argv[0], how));
}

}  // namespace ringfence::internal
