// SupervisedModule: the supervised call path (admission, retries by call
// class, the journal) and restarts with journal replay.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "ringfence/internal/thread_gate.h"
#include "ringfence/module_file.h"
#include "ringfence/supervisor.h"
#include "src/compartment/call_deadline.h"
#include "src/compartment/compartment_impl.h"
#include "src/compartment/export_call.h"
#include "src/gate/futex.h"
#include "src/supervisor/journal.h"
#include "src/supervisor/restart_history.h"

namespace ringfence {
namespace {

// A trap for a death no call saw (an idle kill, a failed start-up without
// a recorded trap).
Trap DeathWithoutTrap(const Compartment& compartment) {
  if (std::optional<Trap> last = compartment.LastTrapCopy()) return *last;
  Trap trap;
  trap.kind = TrapKind::kKilled;
  trap.module = compartment.module().name();
  return trap;
}

// A module's turn to run a state-setting call, held until Release or the
// end of scope. (A mutex and a condition variable rather than a
// std::timed_mutex: its try_lock_until on the steady clock is
// pthread_mutex_clocklock, which ThreadSanitizer does not follow.)
class StateCallTurn {
 public:
  StateCallTurn(std::mutex& mutex, std::condition_variable& done, bool& running)
      : mutex_(mutex), done_(done), running_(running) {}
  ~StateCallTurn() { Release(); }
  // Waits for the turn until `deadline_ns` (MonotonicNs; 0: no limit);
  // false if it did not come by then.
  bool Take(uint64_t deadline_ns) {
    std::unique_lock lock(mutex_);
    auto free = [&] { return !running_; };
    if (deadline_ns == 0) {
      done_.wait(lock, free);
    } else if (!done_.wait_until(lock,
                                 std::chrono::steady_clock::time_point(
                                     std::chrono::nanoseconds(static_cast<int64_t>(deadline_ns))),
                                 free)) {
      return false;
    }
    running_ = true;
    held_ = true;
    return true;
  }
  void Release() {
    if (!held_) return;
    held_ = false;
    {
      std::lock_guard lock(mutex_);
      running_ = false;
    }
    done_.notify_one();
  }

 private:
  std::mutex& mutex_;
  std::condition_variable& done_;
  bool& running_;
  bool held_ = false;
};

}  // namespace

SupervisedModule::SupervisedModule(Supervisor* supervisor, std::string name,
                                   std::unique_ptr<Compartment> compartment, ModuleOptions options,
                                   internal::GroupNode* group)
    : supervisor_(supervisor),
      name_(std::move(name)),
      compartment_(std::move(compartment)),
      options_(options),
      group_(group),
      history_(std::make_unique<internal::RestartHistory>()),
      journal_(std::make_unique<internal::Journal>(options.journal_limit)),
      recent_(options.recent_calls) {
  serving_instance_ = internal::ImplOf(*compartment_).instance_serial();
}

SupervisedModule::~SupervisedModule() = default;

uint64_t SupervisedModule::CallDeadline() const {
  return internal::DeadlineFrom(internal::CurrentThreadGate()->deadline_ns,
                                options_.compartment.call_timeout);
}

std::optional<uint64_t> SupervisedModule::JournalKey(uint32_t export_index, const uint64_t* args,
                                                     const CallOptions& options) const {
  if (options.journal_key) return options.journal_key;
  std::optional<uint32_t> param = compartment_->module().call_class(export_index).key_param;
  if (param) return args[*param];
  return std::nullopt;
}

Result<uint64_t> SupervisedModule::CallSlots(uint32_t export_index, const uint64_t* args,
                                             const CallOptions& options) {
  Result<uint64_t> result = CallUntilAnswered(export_index, args, options);
  answered_.fetch_add(1, std::memory_order_relaxed);
  return result;
}

Result<uint64_t> SupervisedModule::CallUntilAnswered(uint32_t export_index, const uint64_t* args,
                                                     const CallOptions& options) {
  const ModuleDescriptor& descriptor = compartment_->module().descriptor();
  if (export_index >= descriptor.exports.size()) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("module {} has no export number {}", name_, export_index));
  }
  const ExportInfo& info = descriptor.exports[export_index];
  CallClass call_class =
      options.call_class.value_or(compartment_->module().call_class(export_index).call_class);
  std::optional<uint64_t> key;
  if (call_class == CallClass::kStateSetting) key = JournalKey(export_index, args, options);
  uint64_t deadline = CallDeadline();
  metrics_.calls.Add();
  auto fail = [&](Status status) -> Result<uint64_t> {
    metrics_.call_errors.Add();
    return status;
  };
  uint32_t retries = 0;
  uint32_t runs = 0;  // attempts that reached the module's code
  for (;;) {
    uint64_t incarnation = 0;
    uint64_t instance = 0;
    Status admitted = Admit(deadline, &incarnation, &instance);
    if (!admitted.ok()) return fail(admitted);

    StateCallTurn state_call(state_calls_mutex_, state_call_done_, state_call_running_);
    if (call_class == CallClass::kStateSetting) {
      if (!state_call.Take(deadline)) {
        return fail(Status(StatusCode::kDeadlineExceeded,
                           fmt::format("{}.{}: another state-setting call of the module was still "
                                       "running at this call's deadline",
                                       name_, info.name)));
      }
      std::lock_guard lock(journal_mutex_);
      if (!journal_->HasRoomFor(export_index, key)) {
        return fail(Status(StatusCode::kResourceExhausted,
                           fmt::format("the journal of module {} is full ({} entries): {}.{} was "
                                       "not run; clear the journal or use fewer distinct keys",
                                       name_, options_.journal_limit, name_, info.name)));
      }
    }
    uint64_t start = internal::MonotonicNs();
    Result<uint64_t> result =
        internal::ImplOf(*compartment_).CallSlots(export_index, args, instance);
    uint64_t took = internal::MonotonicNs() - start;
    metrics_.call_latency.Record(took);
    if (!result.failed() && ++runs == 2 && call_class == CallClass::kNeither) {
      duplicates_.fetch_add(1, std::memory_order_relaxed);
    }

    if (result.ok()) {
      if (call_class == CallClass::kStateSetting) {
        std::lock_guard lock(journal_mutex_);
        journal_->Record(export_index, key, std::span(args, info.signature.params.size()));
      }
      Remember(export_index, took, "ok");
      return result;
    }
    state_call.Release();
    if (result.failed()) {
      uint64_t serial = internal::ImplOf(*compartment_).instance_serial();
      if (result.status().code() == StatusCode::kUnavailable && serial != instance) {
        // The call did not run: the instance it was admitted to died or was
        // replaced before it got in. Report the death if nobody has.
        if (serial == 0) NoteDeath(incarnation, DeathWithoutTrap(*compartment_));
        continue;
      }
      Remember(export_index, took, fmt::format("error: {}", StatusCodeName(result.status().code())));
      return fail(result.status());
    }
    const Trap& trap = result.trap();
    Remember(export_index, took, fmt::format("trap: {}", TrapKindName(trap.kind)));
    NoteDeath(incarnation, trap);
    if (call_class != CallClass::kNeither && retries < options_.max_retries) {
      ++retries;
      metrics_.retries.Add();
      continue;
    }
    std::string why = call_class == CallClass::kNeither
                          ? "it is neither idempotent nor state-setting, so it ran at most once"
                          : fmt::format("its {} retries are used up", retries);
    return fail(Status(StatusCode::kRestarted,
                       fmt::format("{}.{}: the module died during the call ({}); not retried: {}",
                                   name_, info.name, trap.ToString(), why)));
  }
}

Result<std::optional<Value>> SupervisedModule::CallDynamic(std::string_view name,
                                                           std::span<const Value> args,
                                                           const CallOptions& options) {
  return internal::CallDynamic(
      compartment_->module(), name_, name, args,
      [&](uint32_t index, const uint64_t* slots) { return CallSlots(index, slots, options); });
}

Status SupervisedModule::Admit(uint64_t deadline_ns, uint64_t* incarnation, uint64_t* instance) {
  Supervisor& supervisor = *supervisor_;
  std::unique_lock lock(supervisor.mutex_);
  for (;;) {
    if (supervisor.shutting_down_) {
      return Status(StatusCode::kUnavailable,
                    fmt::format("module {} is not serving: the host is shutting down ({})", name_,
                                supervisor.shutdown_reason_));
    }
    switch (state_) {
      case State::kRunning:
        *incarnation = incarnation_;
        *instance = serving_instance_;
        return Status::Ok();
      case State::kFailed:
        return Status(StatusCode::kUnavailable,
                      fmt::format("module {} has failed: {}; its calls fail until it is reset",
                                  name_, reason_));
      case State::kStopped:
        return Status(StatusCode::kUnavailable,
                      fmt::format("module {} is stopped: {}", name_, reason_));
      case State::kRestarting:
        break;
    }
    if (restarting_) {
      // Another thread is restarting it: wait for that to finish.
      if (deadline_ns == 0) {
        supervisor.changed_.wait(lock);
      } else if (supervisor.changed_.wait_until(
                     lock, std::chrono::steady_clock::time_point(
                               std::chrono::nanoseconds(static_cast<int64_t>(deadline_ns)))) ==
                 std::cv_status::timeout) {
        return Status(StatusCode::kDeadlineExceeded,
                      fmt::format("module {} was still restarting at the call's deadline", name_));
      }
      continue;
    }
    uint64_t now = supervisor.clock_->NowNs();
    if (now < restart_at_ns_) {
      uint64_t wait = restart_at_ns_ - now;
      if (deadline_ns != 0 && internal::MonotonicNs() + wait > deadline_ns) {
        return Status(StatusCode::kUnavailable,
                      fmt::format("module {} is backing off after {} restarts: it restarts in "
                                  "{:g} ms, after this call's deadline",
                                  name_, restarts_, static_cast<double>(wait) / 1e6));
      }
      uint64_t at = restart_at_ns_;
      lock.unlock();
      supervisor.clock_->SleepUntilNs(at);
      lock.lock();
      continue;
    }
    RF_RETURN_IF_ERROR(RestartNow(lock));
  }
}

Status SupervisedModule::RestartNow(std::unique_lock<std::mutex>& lock) {
  if (internal::ImplOf(*compartment_).InsideOnThisThread()) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("module {} died under a call this thread still has open in it; it "
                              "restarts once that call has unwound",
                              name_));
  }
  restarting_ = true;
  uint64_t incarnation = incarnation_;
  lock.unlock();
  uint64_t start = internal::MonotonicNs();
  Status started = compartment_->Restart();
  // A thread killed inside it may still be unwinding: it leaves promptly.
  while (started.code() == StatusCode::kUnavailable) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    started = compartment_->Restart();
  }
  std::optional<Trap> trap;
  if (started.ok()) {
    trap = Replay();
  } else {
    trap = DeathWithoutTrap(*compartment_);
  }
  uint64_t took = internal::MonotonicNs() - start;
  lock.lock();
  restarting_ = false;
  // Failed, stopped or shut down meanwhile, or superseded by a group
  // restart (which killed this fresh instance: not this module's fault).
  if (state_ != State::kRestarting || incarnation_ != incarnation) {
    supervisor_->changed_.notify_all();
    return Status::Ok();
  }
  if (!trap) {
    state_ = State::kRunning;
    serving_instance_ = internal::ImplOf(*compartment_).instance_serial();
    ++restarts_;
    metrics_.restarts.Add();
    metrics_.restart_time.Record(took);
    supervisor_->changed_.notify_all();
    return Status::Ok();
  }
  // The fresh instance died starting up or replaying: a death like another.
  state_ = State::kRunning;
  CrashReport report;
  bool handled = supervisor_->HandleDeathLocked(*this, incarnation_, *trap, &report);
  if (handled) report.action = "during restart (journal replay or start-up); " + report.action;
  lock.unlock();
  supervisor_->Publish(handled ? &report : nullptr);
  lock.lock();
  return Status::Ok();
}

std::optional<Trap> SupervisedModule::Replay() {
  std::vector<internal::Journal::Entry> entries;
  {
    std::lock_guard lock(journal_mutex_);
    entries = journal_->entries();
  }
  if (entries.empty()) return std::nullopt;
  uint64_t start = internal::MonotonicNs();
  for (const internal::Journal::Entry& entry : entries) {
    Result<uint64_t> result =
        internal::ImplOf(*compartment_).CallSlots(entry.export_index, entry.args.data());
    metrics_.replayed_calls.Add();
    if (result.trapped()) return result.trap();
    if (result.failed()) return DeathWithoutTrap(*compartment_);
  }
  metrics_.replay_time.Record(internal::MonotonicNs() - start);
  return std::nullopt;
}

void SupervisedModule::NoteDeath(uint64_t incarnation, const Trap& trap) {
  CrashReport report;
  bool handled;
  {
    std::lock_guard lock(supervisor_->mutex_);
    handled = supervisor_->HandleDeathLocked(*this, incarnation, trap, &report);
  }
  supervisor_->Publish(handled ? &report : nullptr);
}

void SupervisedModule::Remember(uint32_t export_index, uint64_t duration_ns, std::string outcome) {
  std::lock_guard lock(recent_mutex_);
  RecentCall& call = recent_[recent_next_ % recent_.size()];
  call.export_name = compartment_->module().descriptor().exports[export_index].name;
  call.duration_ns = duration_ns;
  call.start_unix_ns = UnixTimeNs() - duration_ns;
  call.outcome = std::move(outcome);
  ++recent_next_;
}

std::vector<RecentCall> SupervisedModule::RecentCalls() const {
  std::lock_guard lock(recent_mutex_);
  std::vector<RecentCall> calls;
  size_t count = std::min(recent_next_, recent_.size());
  for (size_t i = recent_next_ - count; i < recent_next_; ++i) {
    calls.push_back(recent_[i % recent_.size()]);
  }
  return calls;
}

void SupervisedModule::Stop() {
  std::lock_guard lock(supervisor_->mutex_);
  if (state_ == State::kStopped) return;
  if (state_ == State::kRunning) ++incarnation_;
  state_ = State::kStopped;
  reason_ = "stopped by the host";
  compartment_->Kill();
  supervisor_->changed_.notify_all();
}

void SupervisedModule::ClearJournal() {
  std::lock_guard lock(journal_mutex_);
  journal_->Clear();
}

SupervisedModule::State SupervisedModule::state() const {
  std::lock_guard lock(supervisor_->mutex_);
  return state_;
}

std::string SupervisedModule::reason() const {
  std::lock_guard lock(supervisor_->mutex_);
  return reason_;
}

uint64_t SupervisedModule::restart_count() const {
  std::lock_guard lock(supervisor_->mutex_);
  return restarts_;
}

size_t SupervisedModule::journal_size() const {
  std::lock_guard lock(journal_mutex_);
  return journal_->size();
}

}  // namespace ringfence
