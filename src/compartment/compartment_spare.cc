// Warm spares (CompartmentOptions::warm_spare): a standby instance in a
// second core, made in advance by the spare maker thread, so that a restart
// is a swap of cores.
//
// Life of the two cores: core_ serves calls; when its instance dies it is
// released at once (handles, locks, output: nothing waits for the swap) but
// its window is left as it is. The next start of an instance (Enter at depth
// 0, Restart) swaps in the spare if it is ready, and queues the dead core to
// the spare maker, which resets its window and runs the module's start-up
// into it. If the spare is not ready, the start happens on the caller's
// thread as without a spare. Swaps happen only with nobody inside, so frames
// still on a stack always find the core they entered.
#include <climits>
#include <mutex>
#include <utility>

#include "src/compartment/compartment_core.h"
#include "src/compartment/compartment_impl.h"
#include "src/compartment/spare_maker.h"
#include "src/gate/futex.h"

namespace ringfence::internal {

bool CompartmentImpl::spare_ready() const {
  return spare_state_.load(std::memory_order_acquire) == kSpareReady;
}

bool CompartmentImpl::WaitForSpare() {
  if (!options_.warm_spare) return false;
  for (;;) {
    uint32_t state = spare_state_.load(std::memory_order_acquire);
    if (state != kSpareMaking) return state == kSpareReady;
    internal::FutexWait(spare_state_, state, 0);
  }
}

bool CompartmentImpl::SwapInSpare() {
  if (!options_.warm_spare || spare_state_.load(std::memory_order_acquire) != kSpareReady) {
    return false;
  }
  std::swap(core_, spare_core_);
  instance_ = internal::InstanceOfCore(core_);
  live_window_dirty_ = false;
  // The dead core (released already) becomes the next spare.
  spare_state_.store(kSpareMaking, std::memory_order_release);
  internal::QueueSpareJob(spare_job_.get());
  if (ever_instantiated_) ++restart_count_;
  ever_instantiated_ = true;
  live_serial_.store(++instance_serial_, std::memory_order_release);
  live_instance_ = instance_;
  return true;
}

void CompartmentImpl::RemakeSpare() {
  uint32_t state = spare_state_.load(std::memory_order_acquire);
  if (state == kSpareMaking) return;  // queued: it will see the current set-up
  if (state == kSpareReady) ReleaseCore(spare_core_);
  spare_state_.store(kSpareMaking, std::memory_order_release);
  internal::QueueSpareJob(spare_job_.get());
}

void CompartmentImpl::SpareSetUpChanged() {
  if (options_.warm_spare) RemakeSpare();
}

void CompartmentImpl::PrepareSpare() {
  std::lock_guard lock(spare_mutex_);
  rf_import_context* core = spare_core_;
  core->kill_kind.store(RF_TRAP_NONE);
  // Checked after the reset above: a destructor that set the flag later
  // stores its kill after the reset, so start-up code sees it.
  if (spare_cancelled_.load()) return;
  core->window.DropPages();
  Trap trap;
  bool started = InstantiateCore(core, &trap);
  // The compartment falls back to starting instances itself; StartInstance
  // has a failed spare made again after its own start.
  spare_state_.store(started ? kSpareReady : kSpareFailed, std::memory_order_release);
  internal::FutexWake(spare_state_, INT_MAX);
}

void CompartmentImpl::DestroySpare() {
  if (!options_.warm_spare) return;
  spare_cancelled_.store(true);
  // Ends a start-up waiting in a host service (a lock, a sleep): it unwinds
  // with a trap, so the spare maker is done with this compartment soon.
  spare_core_->kill_kind.store(RF_TRAP_KILLED);
  internal::FutexWake(spare_core_->kill_kind, INT_MAX);
  internal::CancelSpareJob(spare_job_.get());
  if (spare_state_.load(std::memory_order_acquire) == kSpareReady) ReleaseCore(spare_core_);
  internal::DestroyCore(spare_core_);
  spare_core_ = nullptr;
}

}  // namespace ringfence::internal
