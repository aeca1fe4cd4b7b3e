// Supervisor: the tree of groups and modules, and the decisions taken when
// a module dies (restart, backoff, group restarts, failure, shutdown).
#include "ringfence/supervisor.h"

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "src/compartment/compartment_impl.h"
#include "src/supervisor/group_node.h"
#include "src/supervisor/journal.h"
#include "src/supervisor/restart_history.h"

namespace ringfence {
namespace {

std::string Millis(std::chrono::nanoseconds duration) {
  return fmt::format("{:g} ms", static_cast<double>(duration.count()) / 1e6);
}

std::string GroupLabel(const internal::GroupNode& group) {
  return group.name.empty() ? "the root group" : fmt::format("group {}", group.name);
}

// The modules a death of `module` (a child of `group`) restarts.
std::vector<SupervisedModule*> AffectedBy(const internal::GroupNode& group,
                                          SupervisedModule* module) {
  std::vector<SupervisedModule*> affected;
  switch (group.options.strategy) {
    case Strategy::kOneForOne:
      affected.push_back(module);
      break;
    case Strategy::kOneForAll:
      group.CollectModules(&affected);
      break;
    case Strategy::kRestForOne: {
      bool reached = false;
      for (const internal::GroupNode::Child& child : group.children) {
        reached = reached || child.module == module;
        if (!reached) continue;
        if (child.module != nullptr) {
          affected.push_back(child.module);
        } else {
          child.group->CollectModules(&affected);
        }
      }
      break;
    }
  }
  return affected;
}

}  // namespace

StatusOr<std::unique_ptr<Supervisor>> Supervisor::Create(SupervisorOptions options) {
  if (options.root.intensity.window.count() <= 0) {
    return Status(StatusCode::kInvalidArgument, "the root group's intensity window must be positive");
  }
  return std::unique_ptr<Supervisor>(new Supervisor(std::move(options)));
}

Supervisor::Supervisor(SupervisorOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : &SystemClock()),
      root_(std::make_unique<internal::GroupNode>()) {
  root_->options = options_.root;
  groups_.emplace("", root_.get());
}

Supervisor::~Supervisor() {
  // Modules go in reverse order: a module may link to ones added before it.
  while (!modules_.empty()) modules_.pop_back();
}

namespace {

Status CheckPolicies(const Intensity& intensity, std::string_view name) {
  if (intensity.window.count() <= 0) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: the intensity window must be positive", name));
  }
  return Status::Ok();
}

}  // namespace

Status Supervisor::AddGroup(std::string name, GroupOptions options, std::string_view parent) {
  RF_RETURN_IF_ERROR(CheckPolicies(options.intensity, name));
  std::lock_guard lock(mutex_);
  if (name.empty() || groups_.contains(name) || FindLocked(name) != nullptr) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("group name '{}' is empty or already taken", name));
  }
  auto found = groups_.find(parent);
  if (found == groups_.end()) {
    return Status(StatusCode::kNotFound, fmt::format("no group named '{}'", parent));
  }
  auto group = std::make_unique<internal::GroupNode>();
  group->name = name;
  group->options = options;
  group->parent = found->second;
  found->second->children.push_back({group.get(), nullptr});
  groups_.emplace(std::move(name), group.get());
  found->second->owned_groups.push_back(std::move(group));
  return Status::Ok();
}

StatusOr<SupervisedModule*> Supervisor::AddModule(std::string name,
                                                  std::shared_ptr<const Module> module,
                                                  ModuleOptions options, std::string_view group) {
  RF_RETURN_IF_ERROR(CheckPolicies(options.intensity, name));
  if (options.recent_calls == 0) options.recent_calls = 1;
  {
    std::lock_guard lock(mutex_);
    if (name.empty() || groups_.contains(name) || FindLocked(name) != nullptr) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("module name '{}' is empty or already taken", name));
    }
    if (!groups_.contains(group)) {
      return Status(StatusCode::kNotFound, fmt::format("no group named '{}'", group));
    }
  }
  options.compartment.restart_on_demand = false;
  options.compartment.fault_injector = options_.fault_injector;
  StatusOr<std::unique_ptr<Compartment>> compartment =
      Compartment::Create(std::move(module), options.compartment);
  if (!compartment.ok()) return compartment.status();
  std::lock_guard lock(mutex_);
  internal::GroupNode* parent = groups_.find(group)->second;
  std::unique_ptr<SupervisedModule> supervised(
      new SupervisedModule(this, name, std::move(compartment).value(), options, parent));
  SupervisedModule* raw = supervised.get();
  parent->children.push_back({nullptr, raw});
  modules_.push_back(std::move(supervised));
  return raw;
}

SupervisedModule* Supervisor::FindLocked(std::string_view name) const {
  for (const auto& module : modules_) {
    if (module->name() == name) return module.get();
  }
  return nullptr;
}

SupervisedModule* Supervisor::Find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  return FindLocked(name);
}

std::vector<SupervisedModule*> Supervisor::modules() const {
  std::lock_guard lock(mutex_);
  std::vector<SupervisedModule*> all;
  for (const auto& module : modules_) all.push_back(module.get());
  return all;
}

Status Supervisor::Link(SupervisedModule& importer, std::string_view import_module,
                        SupervisedModule& target) {
  internal::LinkTarget route{&internal::ImplOf(*target.compartment_), &target,
                             [](void* object, uint32_t index, const uint64_t* args) {
                               return static_cast<SupervisedModule*>(object)->CallSlots(index, args);
                             }};
  return internal::ImplOf(*importer.compartment_).LinkModuleTo(import_module, route);
}

bool Supervisor::HandleDeathLocked(SupervisedModule& module, uint64_t incarnation,
                                   const Trap& trap, CrashReport* report) {
  if (shutting_down_ || incarnation != module.incarnation_ ||
      module.state_ != SupervisedModule::State::kRunning) {
    return false;  // already handled, or nothing left to decide
  }
  uint64_t now = clock_->NowNs();
  module.metrics_.traps[static_cast<size_t>(trap.kind)].Add();
  const ModuleOptions& options = module.options_;
  std::string action;
  bool clean_stop = trap.kind == TrapKind::kExit && trap.exit_code == 0;
  if (options.restart == RestartType::kTemporary ||
      (options.restart == RestartType::kTransient && clean_stop)) {
    ++module.incarnation_;
    module.state_ = SupervisedModule::State::kStopped;
    module.reason_ = fmt::format("{} after {} (restart type {})",
                                 clean_stop ? "stopped cleanly" : "not restarted",
                                 TrapKindName(trap.kind), RestartTypeName(options.restart));
    action = "stopped: " + module.reason_;
    if (options.critical) {
      RequestShutdownLocked(fmt::format("critical module {} {}", module.name_, module.reason_));
    }
  } else {
    uint32_t recent = module.history_->RecentCount(now, options.intensity.window);
    if (module.history_->RecordAndCheck(now, options.intensity)) {
      FailLocked(module, fmt::format("{} restarts within {} (limit {}); last trap: {}",
                                     recent + 1, Millis(options.intensity.window),
                                     options.intensity.max_restarts, trap.ToString()));
      action = "failed";
    } else {
      std::chrono::nanoseconds delay = internal::BackoffDelay(options.backoff, recent);
      uint64_t at = now + static_cast<uint64_t>(delay.count());
      std::vector<SupervisedModule*> affected = AffectedBy(*module.group_, &module);
      for (SupervisedModule* other : affected) {
        if (other != &module) ScheduleRestartLocked(*other, at);
      }
      ScheduleRestartLocked(module, at);
      action = delay.count() == 0 ? "restart" : fmt::format("restart in {} (backoff)", Millis(delay));
      if (affected.size() > 1) {
        action += fmt::format(" with {} other module(s) of {} ({})", affected.size() - 1,
                              GroupLabel(*module.group_), StrategyName(module.group_->options.strategy));
      }
    }
  }
  std::string escalation = EscalateLocked(module.group_, now);
  if (!escalation.empty()) action += "; " + escalation;
  if (shutting_down_) action += "; host shutdown: " + shutdown_reason_;
  changed_.notify_all();

  report->time_unix_ns = UnixTimeNs();
  report->module = module.name_;
  report->compartment = fmt::format("{}#{}", module.name_, incarnation);
  report->trap = trap;
  report->recent_calls = module.RecentCalls();
  report->restart_count = module.restarts_;
  report->action = std::move(action);
  return true;
}

void Supervisor::ScheduleRestartLocked(SupervisedModule& module, uint64_t at_ns) {
  if (module.state_ == SupervisedModule::State::kFailed ||
      module.state_ == SupervisedModule::State::kStopped) {
    return;
  }
  // A new life: also supersedes a restart in progress (see RestartNow).
  ++module.incarnation_;
  module.state_ = SupervisedModule::State::kRestarting;
  module.restart_at_ns_ = at_ns;
  // Threads inside unwind; nobody enters until the restart (restart_on_demand off).
  module.compartment_->Kill();
}

void Supervisor::FailLocked(SupervisedModule& module, const std::string& reason) {
  if (module.state_ == SupervisedModule::State::kFailed) return;
  if (module.state_ == SupervisedModule::State::kRunning) ++module.incarnation_;
  module.state_ = SupervisedModule::State::kFailed;
  module.reason_ = reason;
  module.metrics_.failures.Add();
  module.compartment_->Kill();
  if (module.options_.critical) {
    RequestShutdownLocked(fmt::format("critical module {} failed: {}", module.name_, reason));
  }
}

std::string Supervisor::EscalateLocked(internal::GroupNode* group, uint64_t now_ns) {
  for (internal::GroupNode* node = group; node != nullptr; node = node->parent) {
    if (node->failed) return "";
    if (!node->history.RecordAndCheck(now_ns, node->options.intensity)) continue;
    node->failed = true;
    std::string reason = fmt::format("{} failed: more than {} restarts within {}",
                                     GroupLabel(*node), node->options.intensity.max_restarts,
                                     Millis(node->options.intensity.window));
    std::vector<SupervisedModule*> members;
    node->CollectModules(&members);
    for (SupervisedModule* member : members) FailLocked(*member, reason);
    if (node->options.critical || node->parent == nullptr) RequestShutdownLocked(reason);
    return reason;
  }
  return "";
}

void Supervisor::RequestShutdownLocked(const std::string& reason) {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_reason_ = reason;
  for (const auto& module : modules_) module->compartment_->Kill();
  changed_.notify_all();
}

void Supervisor::Publish(const CrashReport* report) {
  if (report != nullptr) {
    if (options_.crash_lines_on_stderr) {
      std::string line = report->ToLine() + "\n";
      std::fwrite(line.data(), 1, line.size(), stderr);
    }
    if (options_.on_crash) options_.on_crash(*report);
  }
  std::string reason;
  {
    std::lock_guard lock(mutex_);
    if (!shutting_down_ || shutdown_announced_) return;
    shutdown_announced_ = true;
    reason = shutdown_reason_;
  }
  std::fprintf(stderr, "ringfence: shutting down: %s\n", reason.c_str());
  if (options_.on_shutdown) options_.on_shutdown(reason);
}

void Supervisor::Shutdown(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    RequestShutdownLocked(reason);
  }
  Publish(nullptr);
}

bool Supervisor::shutting_down() const {
  std::lock_guard lock(mutex_);
  return shutting_down_;
}

std::string Supervisor::shutdown_reason() const {
  std::lock_guard lock(mutex_);
  return shutdown_reason_;
}

void Supervisor::WaitForShutdown() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return shutting_down_; });
}

Status Supervisor::Reset(std::string_view name) {
  std::unique_lock lock(mutex_);
  if (shutting_down_) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("cannot reset {}: the host is shutting down ({})", name,
                              shutdown_reason_));
  }
  std::vector<SupervisedModule*> targets;
  if (SupervisedModule* module = FindLocked(name); module != nullptr) {
    targets.push_back(module);
  } else if (auto group = groups_.find(name); group != groups_.end()) {
    group->second->failed = false;
    group->second->history.Clear();
    group->second->CollectModules(&targets);
  } else {
    return Status(StatusCode::kNotFound, fmt::format("no module or group named '{}'", name));
  }
  uint64_t now = clock_->NowNs();
  for (SupervisedModule* module : targets) {
    if (module->state_ != SupervisedModule::State::kFailed &&
        module->state_ != SupervisedModule::State::kStopped) {
      continue;
    }
    module->history_->Clear();
    module->reason_.clear();
    module->state_ = SupervisedModule::State::kRestarting;
    module->restart_at_ns_ = now;
    if (!module->restarting_) {
      Status restarted = module->RestartNow(lock);
      if (!restarted.ok()) return restarted;
    }
  }
  changed_.notify_all();
  return Status::Ok();
}

Supervisor::Totals Supervisor::totals() const {
  Totals totals;
  for (SupervisedModule* module : modules()) {
    const ModuleMetrics& metrics = module->metrics();
    totals.calls += metrics.calls.value();
    for (const Counter& traps : metrics.traps) totals.traps += traps.value();
    totals.restarts += metrics.restarts.value();
    totals.retried += metrics.retries.value();
    totals.failed_calls += metrics.call_errors.value();
    totals.replayed_calls += metrics.replayed_calls.value();
    totals.answered += module->answered();
    totals.duplicates += module->duplicates();
  }
  return totals;
}

std::string Supervisor::PrometheusText() const {
  std::vector<std::pair<std::string, const ModuleMetrics*>> named;
  for (SupervisedModule* module : modules()) named.emplace_back(module->name(), &module->metrics());
  return ringfence::PrometheusText(named);
}

}  // namespace ringfence
