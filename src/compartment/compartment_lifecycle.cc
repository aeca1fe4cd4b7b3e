// The instance lifecycle of a compartment: making the first instance
// (Create), starting one (Instantiate, StartInstance), discarding it
// (DiscardInstance) and making a fresh one: on request (Restart), or when a
// call finds the instance dead (RestartOnDemand, from Enter: where the
// compartment itself decides to restart). A supervisor's restarts are
// decided in src/supervisor.
#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "ringfence/module.h"
#include "src/compartment/call_deadline.h"
#include "src/compartment/compartment_core.h"
#include "src/compartment/compartment_impl.h"
#include "src/compartment/spare_maker.h"
#include "src/gate/futex.h"
#include "src/gate/watchdog.h"
#include "src/services/services.h"

namespace ringfence::internal {
namespace {

constexpr std::align_val_t kCoreAlignment{64};

// Lock-owner ids of compartments: [1, 2^29); host threads use the rest.
uint32_t NextOwnerId() {
  static std::atomic<uint32_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed) % ((1u << 29) - 1) + 1;
}

}  // namespace

void DestroyCore(rf_import_context* core) {
  core->~rf_import_context();
  ::operator delete(core, kCoreAlignment);
}

StatusOr<rf_import_context*> NewCore(const Module& module, const CompartmentOptions& options) {
  size_t bytes = kInstanceOffset + module.abi().instance_size;
  auto* core = new (::operator new(bytes, kCoreAlignment)) rf_import_context();
  core->module = &module;
  core->owner_id = NextOwnerId();
  core->fault_injector = options.fault_injector.get();
  core->start_limit_ns = static_cast<uint64_t>(options.call_timeout.count());
  core->links.resize(module.descriptor().imports.size());
  uint64_t limit_pages = options.memory_limit_bytes / WindowReservation::kPageBytes;
  // wasm2c keeps a memory's size in 32 bits, so a full 4 GiB (65536 pages)
  // cannot be represented: the largest memory is one page less.
  core->memory_limit_pages = static_cast<uint32_t>(std::min<uint64_t>(limit_pages, 65535));
  Status reserved = core->window.Reserve();
  if (!reserved.ok()) {
    DestroyCore(core);
    return reserved;
  }
  return core;
}


StatusOr<std::unique_ptr<CompartmentImpl>> CompartmentImpl::Create(
    std::shared_ptr<const Module> module, CompartmentOptions options) {
  if (module == nullptr) return Status(StatusCode::kInvalidArgument, "no module given");
  if (options.call_timeout.count() < 0) {
    return Status(StatusCode::kInvalidArgument, "call_timeout must not be negative");
  }
  if (options.isolation && *options.isolation != module->isolation()) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("module {} was built for the {} backend, not {}: {}", module->name(),
                              IsolationName(module->isolation()),
                              IsolationName(*options.isolation),
                              module->isolation() == Isolation::kProcess
                                  ? "build it without --native to run it as wasm"
                                  : "build it with `ringfence build --native` to run it in a "
                                    "worker process"));
  }
  internal::InitThreadGate();
  StatusOr<rf_import_context*> live_core = internal::NewCore(*module, options);
  if (!live_core.ok()) return live_core.status();
  rf_import_context* core = *live_core;
  rf_import_context* spare_core = nullptr;
  if (options.warm_spare) {
    StatusOr<rf_import_context*> spare = internal::NewCore(*module, options);
    if (!spare.ok()) {
      internal::DestroyCore(core);
      return spare.status();
    }
    spare_core = *spare;
  }
  std::unique_ptr<CompartmentImpl> compartment(
      new CompartmentImpl(std::move(module), core, options));
  if (spare_core != nullptr) {
    // Owned from here on: the destructor frees it.
    compartment->spare_core_ = spare_core;
    spare_core->compartment = compartment.get();
    compartment->spare_job_ = std::make_unique<internal::SpareJob>();
    compartment->spare_job_->run = [](void* target) {
      static_cast<CompartmentImpl*>(target)->PrepareSpare();
    };
    compartment->spare_job_->target = compartment.get();
    compartment->spare_state_.store(kSpareFailed);  // nothing made yet
  }
  // The first start-up runs with this thread inside, as a call would, so a
  // deadline can preempt it (Instantiate).
  compartment->owner_ = internal::CurrentThreadGate();
  compartment->depth_.store(1, std::memory_order_relaxed);
  Status started = compartment->Instantiate();
  compartment->depth_.store(0, std::memory_order_release);
  RF_RETURN_IF_ERROR(started);
  if (spare_core != nullptr) compartment->RemakeSpare();
  return compartment;
}

CompartmentImpl::CompartmentImpl(std::shared_ptr<const Module> module, rf_import_context* core,
                         CompartmentOptions options)
    : module_(std::move(module)),
      options_(options),
      core_(core),
      instance_(internal::InstanceOfCore(core)) {
  core_->compartment = this;
  kill_retry_ = std::make_unique<internal::WatchdogEntry>();
  kill_retry_->fire = [](void* target) { return static_cast<CompartmentImpl*>(target)->RetryKill(); };
  kill_retry_->target = this;
}

CompartmentImpl::~CompartmentImpl() {
  RF_CHECK(depth_.load() == 0);  // no thread may be inside
  internal::DisarmWatchdog(kill_retry_.get());
  DestroySpare();
  if (live_instance_ != nullptr) DiscardInstance();
  internal::DestroyCore(core_);
}

bool CompartmentImpl::InstantiateCore(rf_import_context* core, Trap* trap) {
  rf_thread* thread = internal::CurrentThread();
  const rf_module_abi& abi = module_->abi();
  void* instance = internal::InstanceOfCore(core);
  std::memset(instance, 0, abi.instance_size);
  core->memory_refused = false;
  core->last_call_status = RF_CALL_OK;
  abi.instantiate(thread, instance, core);
  if (thread->trap_kind == RF_TRAP_NONE) return true;
  *trap = MakeTrap(UINT32_MAX, core);
  ReleaseCore(core);
  core->window.DropPages();
  return false;
}

void CompartmentImpl::ReleaseCore(rf_import_context* core) {
  module_->abi().free_instance(internal::InstanceOfCore(core));
  core->table_bytes = 0;  // free_instance freed every table
  // Newest handle first; locks the instance held pass on marked owner died.
  core->handles.ReleaseAll(core->owner_id);
  internal::FlushPendingOutput(core);
  core->memory = nullptr;
}

bool CompartmentImpl::InstantiateLive(Trap* trap) {
  uint64_t deadline_ns = DeadlineFrom(internal::t_thread_gate.deadline_ns, options_.call_timeout);
  // A worker process's start has a limit of its own (start_limit_ns).
  if (deadline_ns == 0 || module_->isolation() != Isolation::kWasm) {
    return InstantiateCore(core_, trap);
  }
  internal::WatchdogEntry watch;
  watch.deadline_ns = deadline_ns;
  watch.fire = [](void* target) {
    static_cast<CompartmentImpl*>(target)->KillWith(RF_TRAP_TIMEOUT);
    return true;  // until the start-up disarms it
  };
  watch.target = this;
  internal::ArmWatchdog(&watch);
  bool started = InstantiateCore(core_, trap);
  internal::DisarmWatchdog(&watch);
  // The kill of a deadline that passed as start-up ended (or that ended
  // it) is spent: the instance either started or is gone.
  uint32_t timeout = RF_TRAP_TIMEOUT;
  core_->kill_kind.compare_exchange_strong(timeout, RF_TRAP_NONE);
  return started;
}

Status CompartmentImpl::Instantiate() {
  if (live_window_dirty_) {
    core_->window.DropPages();
    live_window_dirty_ = false;
  }
  Trap trap;
  if (!InstantiateLive(&trap)) {
    live_instance_ = nullptr;
    SetLastTrap(trap);
    return Status(StatusCode::kInstantiateFailed,
                  fmt::format("module {} trapped while starting: {}", module_->name(),
                              trap.ToString()));
  }
  if (ever_instantiated_) ++restart_count_;
  ever_instantiated_ = true;
  live_serial_.store(++instance_serial_, std::memory_order_release);
  live_instance_ = instance_;
  return Status::Ok();
}

void CompartmentImpl::DiscardInstance() {
  ReleaseCore(core_);
  // With a warm spare the window is reset off the call path: in the
  // background once the spare has taken over, or before a restart here.
  if (options_.warm_spare) {
    live_window_dirty_ = true;
  } else {
    core_->window.DropPages();
  }
  live_instance_ = nullptr;
  live_serial_.store(0, std::memory_order_release);
}

void CompartmentImpl::SetLastTrap(Trap trap) {
  std::lock_guard lock(trap_mutex_);
  last_trap_ = std::move(trap);
}

std::optional<Trap> CompartmentImpl::LastTrapCopy() const {
  std::lock_guard lock(trap_mutex_);
  return last_trap_;
}

Status CompartmentImpl::Restart() {
  std::unique_lock lock(entry_mutex_);
  RevokeClaim();
  if (depth_.load(std::memory_order_acquire) != 0) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("cannot restart module {}: a thread is inside it", module_->name()));
  }
  owner_ = internal::CurrentThreadGate();
  if (live_instance_ != nullptr) DiscardInstance();
  core_->kill_kind.store(RF_TRAP_NONE);
  Status started = StartInstance(lock);
  if (waiters_ > 0) internal::FutexWake(depth_, INT_MAX);
  return started;
}

Status CompartmentImpl::RestartOnDemand(std::unique_lock<std::mutex>& lock) {
  if (!options_.restart_on_demand) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("module {} is dead and waits for its supervisor to restart it",
                              module_->name()));
  }
  Status started = StartInstance(lock);
  if (!started.ok()) {
    if (waiters_ > 0) internal::FutexWake(depth_, INT_MAX);
    return started;
  }
  return Status::Ok();
}

Status CompartmentImpl::StartInstance(std::unique_lock<std::mutex>& lock) {
  if (SwapInSpare()) return Status::Ok();
  depth_.store(1, std::memory_order_relaxed);
  lock.unlock();
  Status started = Instantiate();
  lock.lock();
  depth_.store(0, std::memory_order_release);
  // A spare whose start-up trapped is tried again, after this start-up so
  // the two do not compete.
  if (options_.warm_spare && spare_state_.load(std::memory_order_acquire) == kSpareFailed) {
    RemakeSpare();
  }
  return started;
}

const wasm_rt_memory_t* CompartmentImpl::memory() const {
  // A process module's memory is its worker's own; the core's "memory" is
  // only the channel's payload area.
  if (module_->isolation() == Isolation::kProcess) return nullptr;
  return live_instance_ != nullptr ? core_->memory : nullptr;
}

uint32_t CompartmentImpl::open_handles() const { return core_->handles.open_count(); }

}  // namespace ringfence::internal
