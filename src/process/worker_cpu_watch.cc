#include "src/process/worker_cpu_watch.h"

#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "src/process/worker_spawn.h"

namespace ringfence::internal {
namespace {

// Call times come from the coarse clock (a tick of a few ms; ~5 ns to read
// against ~23 ns for CLOCK_MONOTONIC here): a call that crosses a tick is
// counted a whole tick, one that does not, nothing - right on average over
// the many calls of a sampling period, and the watch leaves a generous
// margin (kIdleCpuBurstNs, and every core per call).
uint64_t CoarseNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return uint64_t(now.tv_sec) * 1'000'000'000 + uint64_t(now.tv_nsec);
}

struct Entry {
  WatchedWorker shared;
  int pidfd = -1;          // the watch's own
  clockid_t clock{};       // the worker's process CPU clock
  bool released = false;   // UnwatchWorker was called
  bool sampled = false;
  uint64_t last_cpu_ns = 0;
  uint64_t last_call_ns = 0;
  uint64_t charge_ns = 0;
};

class CpuWatch {
 public:
  WatchedWorker* Add(pid_t pid, int pidfd) {
    clockid_t clock;
    if (clock_getcpuclockid(pid, &clock) != 0) return nullptr;
    int own = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
    if (own < 0) return nullptr;
    auto entry = std::make_unique<Entry>();
    entry->pidfd = own;
    entry->clock = clock;
    WatchedWorker* shared = &entry->shared;
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.push_back(std::move(entry));
    if (!started_) {
      started_ = true;
      std::thread([this] { Run(); }).detach();  // lives as long as the process
    }
    cv_.notify_one();
    return shared;
  }

  void Remove(WatchedWorker* worker) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& entry : entries_) {
      if (&entry->shared != worker) continue;
      // Closed now, not at the next sample: the caller's descriptor count
      // is back where it was when this returns.
      entry->released = true;
      close(entry->pidfd);
      entry->pidfd = -1;
    }
  }

 private:
  void Run() {
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    uint64_t allowance_ns = static_cast<uint64_t>(kCpuWatchPeriodNs * kIdleCpuShare);
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      cv_.wait(lock, [&] { return !entries_.empty(); });
      cv_.wait_for(lock, std::chrono::nanoseconds(kCpuWatchPeriodNs));
      for (auto it = entries_.begin(); it != entries_.end();) {
        Entry& entry = **it;
        if (entry.released) {
          it = entries_.erase(it);
          continue;
        }
        Sample(entry, cores, allowance_ns);
        ++it;
      }
    }
  }

  // One period's charge for `entry`: its CPU time beyond what its calls'
  // wall time could use on every core.
  static void Sample(Entry& entry, unsigned cores, uint64_t allowance_ns) {
    if (entry.shared.stopped.load(std::memory_order_relaxed)) return;
    // `began` before `total`: a call ending in between is counted twice
    // (in the worker's favour), never missed.
    uint64_t began = entry.shared.call_began_ns.load(std::memory_order_acquire);
    uint64_t total = entry.shared.call_ns_total.load(std::memory_order_acquire);
    uint64_t now = CoarseNs();
    uint64_t call_ns = total + (began != 0 && now > began ? now - began : 0);
    timespec cpu{};
    if (clock_gettime(entry.clock, &cpu) != 0) return;  // it has ended
    uint64_t cpu_ns = uint64_t(cpu.tv_sec) * 1'000'000'000 + uint64_t(cpu.tv_nsec);
    if (entry.sampled) {
      uint64_t used = cpu_ns > entry.last_cpu_ns ? cpu_ns - entry.last_cpu_ns : 0;
      uint64_t calls = call_ns > entry.last_call_ns ? call_ns - entry.last_call_ns : 0;
      uint64_t covered = calls > UINT64_MAX / cores ? UINT64_MAX : calls * cores;
      entry.charge_ns += used > covered ? used - covered : 0;
      entry.charge_ns -= std::min(entry.charge_ns, allowance_ns);
      if (entry.charge_ns > kIdleCpuBurstNs) {
        entry.shared.charged_ns.store(entry.charge_ns, std::memory_order_relaxed);
        entry.shared.stopped.store(true, std::memory_order_release);
        KillWorker(entry.pidfd);
      }
    }
    entry.sampled = true;
    entry.last_cpu_ns = cpu_ns;
    entry.last_call_ns = std::max(call_ns, entry.last_call_ns);
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  bool started_ = false;
  std::vector<std::unique_ptr<Entry>> entries_;
};

CpuWatch* g_watch = nullptr;

// After fork() the child has no watch thread: it makes its own watch on
// first use (the parent's entries are the parent's workers).
CpuWatch& Watch() {
  static std::mutex making;
  static std::once_flag fork_handler;
  std::lock_guard lock(making);
  std::call_once(fork_handler, [] { pthread_atfork(nullptr, nullptr, [] { g_watch = nullptr; }); });
  if (g_watch == nullptr) g_watch = new CpuWatch();  // never destroyed: its thread runs on
  return *g_watch;
}

}  // namespace

WatchedWorker* WatchWorker(pid_t pid, int pidfd) { return Watch().Add(pid, pidfd); }

void UnwatchWorker(WatchedWorker* worker) {
  if (worker != nullptr) Watch().Remove(worker);
}

void CallBegins(WatchedWorker* worker) {
  if (worker != nullptr) worker->call_began_ns.store(CoarseNs(), std::memory_order_release);
}

void CallEnds(WatchedWorker* worker) {
  if (worker == nullptr) return;
  uint64_t began = worker->call_began_ns.load(std::memory_order_relaxed);
  uint64_t now = CoarseNs();
  // Total first: the watch reads began first, so it never misses the call.
  worker->call_ns_total.store(
      worker->call_ns_total.load(std::memory_order_relaxed) + (now > began ? now - began : 0),
      std::memory_order_release);
  worker->call_began_ns.store(0, std::memory_order_release);
}

}  // namespace ringfence::internal
