#include "src/toolchain/confined_run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <fstream>
#include <new>

#include <fmt/format.h>

namespace ringfence::internal {
namespace {

// The answer on the pipe: one byte (1 = bytes follow, 0 = a Status), the
// status code as 4 bytes, then the bytes or the status message.
constexpr char kAnswerValue = 1;
constexpr char kAnswerStatus = 0;
constexpr size_t kHeaderBytes = 5;

// The process's mapped address space, from /proc/self/statm (pages).
uint64_t AddressSpaceBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0;
  statm >> pages;
  return pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

void WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

std::string Answer(char kind, StatusCode code, std::string_view body) {
  std::string answer(kHeaderBytes, '\0');
  answer[0] = kind;
  auto value = static_cast<uint32_t>(code);
  std::memcpy(answer.data() + 1, &value, sizeof(value));
  answer.append(body);
  return answer;
}

[[noreturn]] void RunChild(int fd, std::string_view what, const ConfinedLimits& limits,
                           const std::function<StatusOr<std::string>()>& step) {
  uint64_t address_space = AddressSpaceBytes() + limits.memory_bytes;
  rlimit memory = {address_space, address_space};
  rlimit cpu = {limits.cpu_seconds, limits.cpu_seconds + 1};  // SIGXCPU, then SIGKILL
  rlimit core = {0, 0};  // a crash here is reported, not dumped
  setrlimit(RLIMIT_AS, &memory);
  setrlimit(RLIMIT_CPU, &cpu);
  setrlimit(RLIMIT_CORE, &core);
  // A crash ends the child by its signal, which the parent reports, whatever
  // handler the calling process installed (ringfence's fault handler, a
  // host's crash reporter, a sanitizer's).
  for (int fatal : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP}) signal(fatal, SIG_DFL);
  std::string answer;
  try {
    StatusOr<std::string> result = step();
    answer = result.ok() ? Answer(kAnswerValue, StatusCode::kOk, *result)
                         : Answer(kAnswerStatus, result.status().code(), result.status().message());
  } catch (const std::bad_alloc&) {
    answer = Answer(kAnswerStatus, StatusCode::kBuildFailed,
                    fmt::format("{} ran out of memory (the limit is {} MiB)", what,
                                limits.memory_bytes >> 20));
  } catch (const std::exception& error) {
    answer = Answer(kAnswerStatus, StatusCode::kBuildFailed,
                    fmt::format("{} failed: {}", what, error.what()));
  }
  WriteAll(fd, answer);
  _exit(0);  // no atexit handlers or destructors of the caller's objects
}

// Appends what the child writes to `fd` to `answer` until it closes its
// end; false if `wall_seconds` pass first.
bool ReadAnswer(int fd, uint64_t wall_seconds, std::string* answer) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wall_seconds);
  char buffer[65536];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd readable{fd, POLLIN, 0};
    int ready = poll(&readable, 1, static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return false;
    if (ready < 0) return true;  // cannot wait on the pipe: take what came
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    answer->append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace

StatusOr<std::string> RunConfined(std::string_view what, const ConfinedLimits& limits,
                                  const std::function<StatusOr<std::string>()>& step) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return Status(StatusCode::kIoError, fmt::format("pipe failed: {}", std::strerror(errno)));
  }
  pid_t pid = fork();
  if (pid < 0) {
    int error = errno;
    close(fds[0]);
    close(fds[1]);
    return Status(StatusCode::kIoError, fmt::format("fork failed: {}", std::strerror(error)));
  }
  if (pid == 0) {
    close(fds[0]);
    RunChild(fds[1], what, limits, step);
  }
  close(fds[1]);
  std::string answer;
  bool out_of_time = !ReadAnswer(fds[0], limits.wall_seconds, &answer);
  close(fds[0]);
  if (out_of_time) kill(pid, SIGKILL);
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  if (out_of_time) {
    return Status(StatusCode::kBuildFailed,
                  fmt::format("{} took more than {} s (the limit) and was stopped", what,
                              limits.wall_seconds));
  }
  if (WIFSIGNALED(wait_status)) {
    int signal_number = WTERMSIG(wait_status);
    if (signal_number == SIGXCPU || signal_number == SIGKILL) {
      return Status(StatusCode::kBuildFailed,
                    fmt::format("{} took more than {} s of CPU time (the limit), or was killed",
                                what, limits.cpu_seconds));
    }
    return Status(StatusCode::kBuildFailed,
                  fmt::format("{} crashed (signal {}: {})", what, signal_number,
                              strsignal(signal_number)));
  }
  if (answer.size() < kHeaderBytes || !WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return Status(StatusCode::kBuildFailed, fmt::format("{} ended without an answer", what));
  }
  uint32_t code = 0;
  std::memcpy(&code, answer.data() + 1, sizeof(code));
  if (answer[0] == kAnswerValue) return answer.substr(kHeaderBytes);
  if (code == 0 || code > static_cast<uint32_t>(StatusCode::kInternal)) {
    return Status(StatusCode::kInternal, fmt::format("{} gave a malformed answer", what));
  }
  return Status(static_cast<StatusCode>(code), answer.substr(kHeaderBytes));
}

}  // namespace ringfence::internal
