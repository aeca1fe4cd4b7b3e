#include "src/process/output_pump.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "ringfence/log.h"

namespace ringfence::internal {
namespace {

// A line longer than this is delivered in pieces.
constexpr size_t kMaxLineBytes = 4096;

struct Stream {
  std::string module;
  LogSource source;
  std::string pending;  // output without its newline yet
};

class OutputPump {
 public:
  OutputPump() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
    std::thread([this] { Run(); }).detach();  // lives as long as the process
  }

  void Add(const std::string& module, int fd, LogSource source) {
    std::lock_guard lock(mutex_);
    streams_[fd] = Stream{module, source, {}};
    epoll_event event{};
    event.events = EPOLLIN | EPOLLHUP;
    event.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  }

  int count() {
    std::lock_guard lock(mutex_);
    return static_cast<int>(streams_.size());
  }

 private:
  void Run() {
    epoll_event events[16];
    while (true) {
      int ready = epoll_wait(epoll_fd_, events, 16, -1);
      if (ready < 0 && errno == EINTR) continue;
      for (int i = 0; i < ready; ++i) Drain(events[i].data.fd);
    }
  }

  void Drain(int fd) {
    char buffer[4096];
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    std::lock_guard lock(mutex_);
    auto it = streams_.find(fd);
    if (it == streams_.end()) return;
    Stream& stream = it->second;
    if (n > 0) {
      stream.pending.append(buffer, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t newline; (newline = stream.pending.find('\n', start)) != std::string::npos;) {
        Emit(stream, std::string_view(stream.pending).substr(start, newline - start));
        start = newline + 1;
      }
      stream.pending.erase(0, start);
      while (stream.pending.size() > kMaxLineBytes) {
        Emit(stream, std::string_view(stream.pending).substr(0, kMaxLineBytes));
        stream.pending.erase(0, kMaxLineBytes);
      }
      return;
    }
    // End of file (or an error): the worker is gone.
    if (!stream.pending.empty()) Emit(stream, stream.pending);
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    streams_.erase(it);
  }

  static void Emit(const Stream& stream, std::string_view line) {
    EmitLog(LogRecord{stream.module, stream.source, line});
  }

  int epoll_fd_;
  std::mutex mutex_;
  std::map<int, Stream> streams_;
};

OutputPump& Pump() {
  static OutputPump* pump = new OutputPump();  // never destroyed: its thread runs on
  return *pump;
}

}  // namespace

void PumpWorkerOutput(const std::string& module, int stdout_fd, int stderr_fd) {
  Pump().Add(module, stdout_fd, LogSource::kStdout);
  Pump().Add(module, stderr_fd, LogSource::kStderr);
}

int PumpedOutputCount() { return Pump().count(); }

}  // namespace ringfence::internal
