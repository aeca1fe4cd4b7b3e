#include "src/process/worker_pool.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "ringfence/worker_pool.h"
#include "src/gate/futex.h"
#include "src/process/output_pump.h"
#include "src/process/worker_assignment.h"

namespace ringfence::internal {
namespace {

// A replacement for a taken worker is started this long after the take,
// not at once: starting one costs milliseconds of CPU, which would
// otherwise compete with the taken worker's own start (loading the module,
// locking down) that the restart is waiting for. A take that finds no idle
// worker does not wait for this.
constexpr uint64_t kRefillDelayNs = 3'000'000;

struct PooledIdle {
  IdleWorker worker;
  bool prepared = false;  // it said kWorkerPrepared
};

// What an idle worker wrote (a reason it could not start, usually) reaches
// the log; the output thread closes the pipes at end of file.
void PumpIdleOutput(IdleWorker& worker) {
  PumpWorkerOutput("ringfence-worker", std::exchange(worker.stdout_fd, -1),
                   std::exchange(worker.stderr_fd, -1));
}

// Closes and unmaps what a reaped (or never started) retired worker holds.
void Release(RetiredWorker& retired) {
  if (retired.pidfd >= 0) close(retired.pidfd);
  if (retired.channel != nullptr) munmap(retired.channel, retired.channel_bytes);
  if (retired.channel_fd >= 0) close(retired.channel_fd);
}

Status EndedWhileStarting(const std::string& program, const std::string& how) {
  return Status(StatusCode::kUnavailable,
                fmt::format("the worker program {} ended while starting{}; its output is in the log",
                            program, how));
}

class WorkerPool {
 public:
  WorkerPool() : wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    std::thread([this] { Run(); }).detach();  // lives as long as the process
  }

  StatusOr<IdleWorker> Take(const std::string& program) {
    std::optional<IdleWorker> taken;
    {
      std::unique_lock lock(mutex_);
      program_ = program;
      failure_.reset();
      taken = TakeLocked(program);
      if (!taken) {
        ++waiting_;
        Wake();  // to spawn one now
        cv_.wait(lock, [&] { return (taken = TakeLocked(program)).has_value() || failure_; });
        --waiting_;
        if (!taken) return *failure_;
      }
      refill_at_ns_ = MonotonicNs() + kRefillDelayNs;
    }
    Wake();  // to start a replacement, later
    return *taken;
  }

  void Retire(RetiredWorker worker) {
    {
      std::lock_guard lock(mutex_);
      retired_.push_back(worker);
    }
    Wake();
  }

  void SetTarget(size_t count) {
    std::lock_guard lock(mutex_);
    target_ = count;
    Wake();
  }

  bool WaitUntilSettled(std::chrono::nanoseconds limit) {
    std::unique_lock lock(mutex_);
    bool settled = cv_.wait_for(lock, limit, [&] {
      size_t prepared = std::count_if(idle_.begin(), idle_.end(),
                                      [](const PooledIdle& idle) { return idle.prepared; });
      return failure_ || program_.empty() ||
             (prepared >= target_ && retired_.empty() && unreaped_ == 0);
    });
    return settled && !failure_;
  }

 private:
  enum class Watch { kWake, kIdleExit, kPrepared, kReapingExit };

  void Wake() {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }

  std::optional<IdleWorker> TakeLocked(const std::string& program) {
    auto usable = [&](const PooledIdle& idle) { return idle.worker.program == program; };
    auto it = std::find_if(idle_.begin(), idle_.end(),
                           [&](const PooledIdle& idle) { return usable(idle) && idle.prepared; });
    if (it == idle_.end()) it = std::find_if(idle_.begin(), idle_.end(), usable);
    if (it == idle_.end()) return std::nullopt;
    IdleWorker worker = it->worker;
    idle_.erase(it);
    return worker;
  }

  // Ends an idle worker the pool no longer wants: it sees end of file on its
  // socket and exits; reaped as a retired worker. Pool thread only.
  void LetGo(PooledIdle& idle) {
    RetiredWorker retired;
    retired.pidfd = std::exchange(idle.worker.pidfd, -1);
    retired_.push_back(retired);
    PumpIdleOutput(idle.worker);
    CloseIdleWorker(idle.worker);
  }

  // Idle workers of another program than the last Take's, or more than
  // wanted, go. Pool thread only, locked.
  void LetSurplusGo() {
    for (auto it = idle_.begin(); it != idle_.end();) {
      if (it->worker.program != program_ || idle_.size() > target_ + waiting_) {
        LetGo(*it);
        it = idle_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Spawns what waiting takers need at once, and the target once the refill
  // delay is over. Pool thread only, locked (unlocked while spawning).
  void SpawnWanted(std::unique_lock<std::mutex>& lock, uint64_t now) {
    size_t wanted = waiting_ + (now >= refill_at_ns_ ? target_ : 0);
    while (!failure_ && !program_.empty() && idle_.size() < wanted) {
      std::string program = program_;
      lock.unlock();
      StatusOr<IdleWorker> spawned = SpawnIdleWorker(program);
      lock.lock();
      if (!spawned.ok()) {
        failure_ = spawned.status();
      } else {
        idle_.push_back(PooledIdle{*spawned, false});
      }
      cv_.notify_all();
    }
  }

  void Run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      LetSurplusGo();
      uint64_t now = MonotonicNs();
      SpawnWanted(lock, now);
      // Retired workers become this thread's to reap, without the lock: a
      // thread that retires or takes a worker never waits for the
      // system calls below.
      reaping_.insert(reaping_.end(), retired_.begin(), retired_.end());
      retired_.clear();
      unreaped_ = reaping_.size();
      std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0}};
      std::vector<Watch> watches = {Watch::kWake};
      auto watch = [&](int fd, Watch why) {
        fds.push_back({fd, POLLIN, 0});
        watches.push_back(why);
      };
      for (const PooledIdle& idle : idle_) {
        watch(idle.worker.pidfd, Watch::kIdleExit);
        if (!idle.prepared) watch(idle.worker.socket_fd, Watch::kPrepared);
      }
      for (const RetiredWorker& retired : reaping_) {
        if (retired.pidfd >= 0) watch(retired.pidfd, Watch::kReapingExit);
      }
      int timeout_ms = -1;  // until the refill delay is over, if one is due
      if (!failure_ && !program_.empty() && idle_.size() < target_ + waiting_) {
        uint64_t delay_ns = refill_at_ns_ - std::min(now, refill_at_ns_);
        timeout_ms = static_cast<int>(delay_ns / 1'000'000 + 1);
      }
      // Channels whose worker is gone already need no waiting.
      bool gone = std::any_of(reaping_.begin(), reaping_.end(),
                              [](const RetiredWorker& retired) { return retired.pidfd < 0; });
      if (gone) timeout_ms = 0;
      lock.unlock();
      int ready = poll(fds.data(), fds.size(), timeout_ms);
      for (size_t i = 0; ready > 0 && i < fds.size(); ++i) {
        if (fds[i].revents != 0 && watches[i] == Watch::kReapingExit) Reap(fds[i].fd);
      }
      std::erase_if(reaping_, [](RetiredWorker& retired) {
        if (retired.pidfd >= 0) return false;
        Release(retired);
        return true;
      });
      lock.lock();
      unreaped_ = reaping_.size();
      // The idle list may have changed while unlocked: each event is looked
      // up by its descriptor and checked again (a stale one does nothing).
      for (size_t i = 0; ready > 0 && i < fds.size(); ++i) {
        if (fds[i].revents != 0 && watches[i] != Watch::kReapingExit) {
          Handle(watches[i], fds[i].fd);
        }
      }
      cv_.notify_all();
    }
  }

  void Handle(Watch why, int fd) {
    switch (why) {
      case Watch::kWake: {
        uint64_t count;
        (void)!read(wake_fd_, &count, sizeof count);
        return;
      }
      case Watch::kIdleExit: {
        auto it = std::find_if(idle_.begin(), idle_.end(),
                               [&](const PooledIdle& idle) { return idle.worker.pidfd == fd; });
        siginfo_t status;
        if (it == idle_.end() || !ReapIfExited(fd, &status)) return;
        // One that ended before it was prepared cannot start at all (its
        // stderr says why): no more are spawned until the next Take, so a
        // broken installation does not make the pool spin.
        // (Only for the program takers want now: a worker of the one before
        // that ends late must not fail their Take.)
        if (!it->prepared && it->worker.program == program_) {
          failure_ = EndedWhileStarting(
              it->worker.program, fmt::format(" ({} {})",
                                              status.si_code == CLD_EXITED ? "exit code" : "signal",
                                              status.si_status));
        }
        PumpIdleOutput(it->worker);
        CloseIdleWorker(it->worker);
        idle_.erase(it);
        return;
      }
      case Watch::kPrepared: {
        auto it = std::find_if(idle_.begin(), idle_.end(),
                               [&](const PooledIdle& idle) { return idle.worker.socket_fd == fd; });
        if (it == idle_.end() || it->prepared) return;
        char said = 0;
        ssize_t n = recv(fd, &said, 1, MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN) return;
        if (n == 1 && said == kWorkerPrepared) {
          it->prepared = true;
          return;
        }
        // Anything else (end of file: it ended): a worker that cannot start.
        if (it->worker.program == program_) failure_ = EndedWhileStarting(it->worker.program, "");
        KillWorker(it->worker.pidfd);
        LetGo(*it);
        idle_.erase(it);
        return;
      }
      case Watch::kReapingExit: return;  // Reap's
    }
  }

  // Pool thread only, without the lock.
  void Reap(int pidfd) {
    auto it = std::find_if(reaping_.begin(), reaping_.end(),
                           [&](const RetiredWorker& retired) { return retired.pidfd == pidfd; });
    if (it == reaping_.end() || !ReapIfExited(pidfd)) return;
    Release(*it);
    reaping_.erase(it);
  }

  const int wake_fd_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string program_;  // what the last Take asked for; empty: none yet
  size_t target_ = kDefaultIdleWorkers;
  size_t waiting_ = 0;  // Take calls waiting for a worker
  uint64_t refill_at_ns_ = 0;  // MonotonicNs() after which the target is refilled
  std::optional<Status> failure_;  // the last spawn's, until the next Take
  std::deque<PooledIdle> idle_;
  std::vector<RetiredWorker> retired_;  // handed over, not yet seen by the thread
  size_t unreaped_ = 0;                 // reaping_.size() when last locked
  std::vector<RetiredWorker> reaping_;  // the pool thread's own, no lock
};

WorkerPool* pool = nullptr;
std::once_flag pool_fork_handler;

// After fork() the child has no pool thread: it makes its own pool on first
// use (the parent's idle workers are not its children).
WorkerPool& Pool() {
  static std::mutex making;
  std::lock_guard lock(making);
  std::call_once(pool_fork_handler,
                 [] { pthread_atfork(nullptr, nullptr, [] { pool = nullptr; }); });
  if (pool == nullptr) pool = new WorkerPool();  // never destroyed: its thread runs on
  return *pool;
}

}  // namespace

StatusOr<IdleWorker> TakeIdleWorker(const std::string& program) { return Pool().Take(program); }

void RetireWorker(RetiredWorker worker) { Pool().Retire(worker); }

}  // namespace ringfence::internal

namespace ringfence {

void SetIdleWorkers(size_t count) { internal::Pool().SetTarget(count); }

bool WaitForIdleWorkers(std::chrono::nanoseconds limit) {
  return internal::Pool().WaitUntilSettled(limit);
}

}  // namespace ringfence
