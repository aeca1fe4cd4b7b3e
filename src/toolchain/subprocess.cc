#include "src/toolchain/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace ringfence::internal {
namespace {

// The environment for the command: the caller's, with TMPDIR replaced.
std::vector<std::string> CommandEnvironment(const std::string& temp_dir) {
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!temp_dir.empty() && std::strncmp(*entry, "TMPDIR=", 7) == 0) continue;
    environment.emplace_back(*entry);
  }
  if (!temp_dir.empty()) environment.push_back("TMPDIR=" + temp_dir);
  return environment;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& string : strings) pointers.push_back(string.data());
  pointers.push_back(nullptr);
  return pointers;
}

[[noreturn]] void ExitWithErrno(int error_fd, int error) {
  (void)!write(error_fd, &error, sizeof(error));
  _exit(127);
}

// In the child, between fork and exec: only async-signal-safe calls.
// Reports a failure as an errno on `error_fd` and exits.
[[noreturn]] void ExecChild(char* const* argv, char* const* envp, const CommandOptions& options,
                            int output_fd, int error_fd) {
  auto fail = [error_fd](int error) { ExitWithErrno(error_fd, error); };
  if (output_fd >= 0 && dup2(output_fd, STDOUT_FILENO) < 0) fail(errno);
  const rlimit cpu = {kCommandCpuSeconds, kCommandCpuSeconds + 5};
  const rlimit address_space = {kCommandAddressSpaceBytes, kCommandAddressSpaceBytes};
  const rlimit file_size = {kCommandFileBytes, kCommandFileBytes};
  const rlimit core = {0, 0};
  if (setrlimit(RLIMIT_CPU, &cpu) != 0 || setrlimit(RLIMIT_AS, &address_space) != 0 ||
      setrlimit(RLIMIT_FSIZE, &file_size) != 0 || setrlimit(RLIMIT_CORE, &core) != 0) {
    fail(errno);
  }
  if (options.landlock_ruleset >= 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(errno);
    if (syscall(SYS_landlock_restrict_self, options.landlock_ruleset, 0) != 0) fail(errno);
  }
  execvpe(argv[0], argv, envp);
  ExitWithErrno(error_fd, errno);
}

}  // namespace

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) {
    if (!line.empty()) line += ' ';
    bool plain = !arg.empty() && arg.find_first_of(" \t\"'\\$") == std::string::npos;
    line += plain ? arg : "'" + arg + "'";
  }
  return line;
}

Status RunCommand(const std::vector<std::string>& argv, const CommandOptions& options) {
  std::vector<std::string> arguments = argv;
  std::vector<char*> args = Pointers(arguments);
  std::vector<std::string> environment = CommandEnvironment(options.temp_dir);
  std::vector<char*> envp = Pointers(environment);

  int output_fds[2] = {-1, -1};
  int error_fds[2] = {-1, -1};  // the child's errno if it could not exec
  if ((options.output != nullptr && pipe2(output_fds, O_CLOEXEC) != 0) ||
      pipe2(error_fds, O_CLOEXEC) != 0) {
    int error = errno;
    for (int fd : {output_fds[0], output_fds[1]}) {
      if (fd >= 0) close(fd);
    }
    return Status(StatusCode::kBuildFailed, fmt::format("pipe failed: {}", std::strerror(error)));
  }
  pid_t pid = fork();
  if (pid == 0) ExecChild(args.data(), envp.data(), options, output_fds[1], error_fds[1]);
  int fork_error = errno;
  close(error_fds[1]);
  if (output_fds[1] >= 0) close(output_fds[1]);
  if (pid < 0) {
    close(error_fds[0]);
    if (output_fds[0] >= 0) close(output_fds[0]);
    return Status(StatusCode::kBuildFailed,
                  fmt::format("cannot run {}: {}", argv[0], std::strerror(fork_error)));
  }
  if (options.output != nullptr) {
    char buffer[4096];
    for (ssize_t n; (n = read(output_fds[0], buffer, sizeof(buffer))) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      options.output->append(buffer, static_cast<size_t>(n));
    }
    close(output_fds[0]);
  }
  int exec_error = 0;
  ssize_t got = 0;
  while ((got = read(error_fds[0], &exec_error, sizeof(exec_error))) < 0 && errno == EINTR) {
  }
  close(error_fds[0]);
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  if (got == static_cast<ssize_t>(sizeof(exec_error))) {
    return Status(StatusCode::kBuildFailed,
                  fmt::format("cannot run {}: {} (is it installed? run scripts/setup)", argv[0],
                              std::strerror(exec_error)));
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return Status::Ok();
  std::string how;
  if (WIFEXITED(wait_status)) {
    how = fmt::format("exited with status {}", WEXITSTATUS(wait_status));
  } else if (WTERMSIG(wait_status) == SIGXCPU) {
    how = fmt::format("ran longer than {} s of CPU time (the limit)", kCommandCpuSeconds);
  } else if (WTERMSIG(wait_status) == SIGXFSZ) {
    how = fmt::format("wrote a file larger than {} MiB (the limit)", kCommandFileBytes >> 20);
  } else {
    how = fmt::format("was killed by signal {}", WTERMSIG(wait_status));
  }
  return Status(StatusCode::kBuildFailed, fmt::format("{} {}", argv[0], how));
}

}  // namespace ringfence::internal
