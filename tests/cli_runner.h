// Runs the ringfence CLI as a child process, for the CLI and toolchain tests.
#ifndef RINGFENCE_TESTS_CLI_RUNNER_H_
#define RINGFENCE_TESTS_CLI_RUNNER_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "ringfence/status.h"

namespace ringfence::testing {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitTrap = 3;

struct CliResult {
  int exit_code = -1;  // 128 + signal if the CLI was killed
  std::string out;
  std::string err;
};

inline std::ostream& operator<<(std::ostream& os, const CliResult& result) {
  return os << "exit " << result.exit_code << "\n--- stdout ---\n" << result.out << "--- stderr ---\n"
            << result.err;
}

// The CLI's command line for execv: its path, then `args`. The pointers
// point into `strings`, so it is neither copied nor moved.
struct CliCommandLine {
  explicit CliCommandLine(const std::vector<std::string>& args) : strings(args) {
    strings.insert(strings.begin(), RF_CLI_PATH);
    for (std::string& text : strings) argv.push_back(text.data());
    argv.push_back(nullptr);
  }
  CliCommandLine(const CliCommandLine&) = delete;
  CliCommandLine& operator=(const CliCommandLine&) = delete;
  std::vector<std::string> strings;
  std::vector<char*> argv;
};

// Runs the CLI with `args` and `input` on stdin; stdout and stderr are kept
// apart. A run longer than two minutes is killed and fails the test.
inline CliResult RunCli(const std::vector<std::string>& args, const std::string& input = "") {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  RF_CHECK(pipe2(in_pipe, O_CLOEXEC) == 0 && pipe2(out_pipe, O_CLOEXEC) == 0 &&
           pipe2(err_pipe, O_CLOEXEC) == 0);
  CliCommandLine command(args);
  pid_t pid = fork();
  RF_CHECK(pid >= 0);
  if (pid == 0) {
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    execv(command.argv[0], command.argv.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  signal(SIGPIPE, SIG_IGN);
  fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  int in_fd = in_pipe[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  CliResult result;
  size_t written = 0;
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  bool killed = false;
  while (out_fd >= 0 || err_fd >= 0) {
    std::vector<pollfd> fds;
    if (in_fd >= 0) fds.push_back({in_fd, POLLOUT, 0});
    if (out_fd >= 0) fds.push_back({out_fd, POLLIN, 0});
    if (err_fd >= 0) fds.push_back({err_fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) break;
    if (!killed && std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "ringfence did not finish within 2 minutes; killing it";
      kill(pid, SIGKILL);
      killed = true;
    }
    for (const pollfd& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == in_fd) {
        ssize_t n = write(in_fd, input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<size_t>(n);
        if (n < 0 && errno != EAGAIN) written = input.size();
        if (written == input.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      char buffer[4096];
      ssize_t n = read(p.fd, buffer, sizeof(buffer));
      if (n > 0) {
        (p.fd == out_fd ? result.out : result.err).append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(p.fd);
        (p.fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// The lines of `text`, without their newlines.
inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

// A fresh directory for files a test writes, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ringfence-cli-test-XXXXXX").string();
    RF_CHECK(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }
  std::string File(const std::string& name, const std::string& contents) const {
    std::filesystem::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << contents;
    return file.string();
  }
  // Where a file `name` in the directory goes (not created).
  std::string Path(const std::string& name) const { return (path_ / name).string(); }
  // The contents of file `name`, "" if there is none.
  std::string Read(const std::string& name) const {
    std::ifstream file(path_ / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), {});
  }

 private:
  std::filesystem::path path_;
};

}  // namespace ringfence::testing

#endif  // RINGFENCE_TESTS_CLI_RUNNER_H_
