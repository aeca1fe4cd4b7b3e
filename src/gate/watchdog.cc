#include "src/gate/watchdog.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "src/gate/futex.h"

namespace ringfence::internal {
namespace {

constexpr uint64_t kRefireNs = 1'000'000;

class Watchdog {
 public:
  void Arm(WatchdogEntry* entry) {
    std::lock_guard lock(mutex_);
    if (!started_) {
      // Lives as long as the process: entries may be armed until exit.
      std::thread([this] { Run(); }).detach();
      started_ = true;
    }
    if (entry->armed) return;
    entry->armed = true;
    entry->next_fire_ns = entry->deadline_ns;
    entry->prev = nullptr;
    entry->next = head_;
    if (head_ != nullptr) head_->prev = entry;
    head_ = entry;
    wake_.notify_one();
  }

  void Disarm(WatchdogEntry* entry) {
    std::unique_lock lock(mutex_);
    // Fire runs without the mutex held, so wait until it is done with this entry.
    idle_.wait(lock, [&] { return firing_ != entry; });
    if (entry->armed) Unlink(entry);
  }

 private:
  void Unlink(WatchdogEntry* entry) {
    if (entry->prev != nullptr) entry->prev->next = entry->next;
    else head_ = entry->next;
    if (entry->next != nullptr) entry->next->prev = entry->prev;
    entry->armed = false;
  }

  void Run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      uint64_t now = MonotonicNs();
      uint64_t earliest = UINT64_MAX;
      WatchdogEntry* due = nullptr;
      for (WatchdogEntry* entry = head_; entry != nullptr; entry = entry->next) {
        if (entry->next_fire_ns <= now && due == nullptr) due = entry;
        earliest = std::min(earliest, entry->next_fire_ns);
      }
      if (due != nullptr) {
        due->next_fire_ns = now + kRefireNs;
        firing_ = due;
        lock.unlock();
        bool again = due->fire(due->target);
        lock.lock();
        if (!again) Unlink(due);
        firing_ = nullptr;
        idle_.notify_all();
        continue;
      }
      if (earliest == UINT64_MAX) {
        wake_.wait(lock);
      } else {
        wake_.wait_for(lock, std::chrono::nanoseconds(earliest - now));
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  bool started_ = false;
  WatchdogEntry* head_ = nullptr;     // guarded by mutex_
  WatchdogEntry* firing_ = nullptr;   // guarded by mutex_
};

Watchdog& TheWatchdog() {
  static Watchdog* watchdog = new Watchdog();  // never destroyed: its thread never ends
  return *watchdog;
}

}  // namespace

void ArmWatchdog(WatchdogEntry* entry) { TheWatchdog().Arm(entry); }
void DisarmWatchdog(WatchdogEntry* entry) { TheWatchdog().Disarm(entry); }

}  // namespace ringfence::internal
