#include "src/compartment/spare_maker.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "ringfence/internal/thread_gate.h"

namespace ringfence::internal {
namespace {

class SpareMaker {
 public:
  void Queue(SpareJob* job) {
    std::lock_guard lock(mutex_);
    if (!started_) {
      // Lives as long as the process, like the watchdog: compartments with
      // spares may be made and destroyed until exit.
      std::thread([this] { Run(); }).detach();
      started_ = true;
    }
    if (job->queued) return;
    job->queued = true;
    job->next = nullptr;
    if (tail_ != nullptr) tail_->next = job;
    else head_ = job;
    tail_ = job;
    wake_.notify_one();
  }

  void Cancel(SpareJob* job) {
    std::unique_lock lock(mutex_);
    if (job->queued) Unlink(job);
    // The job runs without the mutex held: wait until it is done.
    idle_.wait(lock, [&] { return running_ != job; });
  }

 private:
  void Unlink(SpareJob* job) {
    SpareJob* previous = nullptr;
    for (SpareJob* entry = head_; entry != nullptr; previous = entry, entry = entry->next) {
      if (entry != job) continue;
      if (previous != nullptr) previous->next = job->next;
      else head_ = job->next;
      if (tail_ == job) tail_ = previous;
      break;
    }
    job->queued = false;
    job->next = nullptr;
  }

  void Run() {
    // Module start-up code runs on this thread, under its own gate.
    InitThreadGate();
    std::unique_lock lock(mutex_);
    for (;;) {
      if (head_ == nullptr) {
        wake_.wait(lock);
        continue;
      }
      SpareJob* job = head_;
      Unlink(job);
      running_ = job;
      lock.unlock();
      job->run(job->target);
      lock.lock();
      running_ = nullptr;
      idle_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  bool started_ = false;          // guarded by mutex_
  SpareJob* head_ = nullptr;      // guarded by mutex_
  SpareJob* tail_ = nullptr;      // guarded by mutex_
  SpareJob* running_ = nullptr;   // guarded by mutex_
};

SpareMaker& TheSpareMaker() {
  static SpareMaker* maker = new SpareMaker();  // never destroyed: its thread never ends
  return *maker;
}

}  // namespace

void QueueSpareJob(SpareJob* job) { TheSpareMaker().Queue(job); }
void CancelSpareJob(SpareJob* job) { TheSpareMaker().Cancel(job); }

}  // namespace ringfence::internal
