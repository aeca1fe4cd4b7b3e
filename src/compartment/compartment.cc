#include "ringfence/compartment.h"

#include <cstring>
#include <new>

#include <fmt/format.h>

#include "src/compartment/compartment_core.h"
#include "src/services/services.h"

namespace ringfence {
namespace {

constexpr std::align_val_t kCoreAlignment{64};

TrapKind TrapKindOf(uint32_t code) {
  switch (code) {
    case RF_TRAP_OOB: return TrapKind::kOutOfBounds;
    case RF_TRAP_INT_OVERFLOW: return TrapKind::kIntegerOverflow;
    case RF_TRAP_DIV_BY_ZERO: return TrapKind::kDivideByZero;
    case RF_TRAP_INVALID_CONVERSION: return TrapKind::kInvalidConversion;
    case RF_TRAP_UNREACHABLE: return TrapKind::kUnreachable;
    case RF_TRAP_CALL_INDIRECT: return TrapKind::kIndirectCallMismatch;
    case RF_TRAP_UNCAUGHT_EXCEPTION: return TrapKind::kUncaughtException;
    case RF_TRAP_EXHAUSTION: return TrapKind::kStackExhausted;
    case RF_TRAP_EXIT: return TrapKind::kExit;
    case RF_TRAP_MEMORY_LIMIT: return TrapKind::kMemoryLimit;
  }
  return TrapKind::kUnreachable;
}

void DestroyCore(rf_import_context* core) {
  core->~rf_import_context();
  ::operator delete(core, kCoreAlignment);
}

}  // namespace

StatusOr<std::unique_ptr<Compartment>> Compartment::Create(std::shared_ptr<const Module> module,
                                                           CompartmentOptions options) {
  if (module == nullptr) return Status(StatusCode::kInvalidArgument, "no module given");
  internal::InitThreadGate();
  size_t bytes = internal::kInstanceOffset + module->abi().instance_size;
  auto* core = new (::operator new(bytes, kCoreAlignment)) rf_import_context();
  core->module = module.get();
  uint64_t limit_pages = options.memory_limit_bytes / internal::WindowReservation::kPageBytes;
  // wasm2c keeps a memory's size in 32 bits, so a full 4 GiB (65536 pages)
  // cannot be represented: the largest memory is one page less.
  core->memory_limit_pages = static_cast<uint32_t>(std::min<uint64_t>(limit_pages, 65535));
  Status reserved = core->window.Reserve();
  if (!reserved.ok()) {
    DestroyCore(core);
    return reserved;
  }
  std::unique_ptr<Compartment> compartment(new Compartment(std::move(module), core));
  RF_RETURN_IF_ERROR(compartment->Instantiate());
  return compartment;
}

Compartment::Compartment(std::shared_ptr<const Module> module, rf_import_context* core)
    : module_(std::move(module)), core_(core), instance_(internal::InstanceOfCore(core)) {}

Compartment::~Compartment() {
  if (live_instance_ != nullptr) DiscardInstance();
  DestroyCore(core_);
}

Status Compartment::Instantiate() {
  rf_thread* thread = internal::CurrentThread();
  const rf_module_abi& abi = module_->abi();
  std::memset(instance_, 0, abi.instance_size);
  abi.instantiate(thread, instance_, core_);
  if (thread->trap_kind != RF_TRAP_NONE) {
    Trap trap = TakeTrap(UINT32_MAX);
    return Status(StatusCode::kInstantiateFailed,
                  fmt::format("module {} trapped while starting: {}", module_->name(),
                              trap.ToString()));
  }
  if (ever_instantiated_) ++restart_count_;
  ever_instantiated_ = true;
  live_instance_ = instance_;
  return Status::Ok();
}

void Compartment::DiscardInstance() {
  module_->abi().free_instance(instance_);
  internal::FlushPendingOutput(core_);
  core_->memory = nullptr;
  core_->window.DropPages();
  live_instance_ = nullptr;
}

Status Compartment::Revive() {
  if (live_instance_ != nullptr) return Status::Ok();
  return Instantiate();
}

Status Compartment::Restart() {
  if (live_instance_ != nullptr) DiscardInstance();
  return Instantiate();
}

Trap Compartment::TakeTrap(uint32_t export_index) {
  rf_thread& thread = internal::t_thread_gate.thread;
  Trap trap;
  trap.kind = TrapKindOf(thread.trap_kind);
  trap.module = module_->name();
  trap.export_name = export_index == UINT32_MAX ? "<start>" : module_->descriptor().exports[export_index].name;
  trap.function = module_->FunctionAt(thread.trap_pc);
  if (thread.fault_address != 0 && core_->window.Contains(thread.fault_address)) {
    trap.offset = thread.fault_address - reinterpret_cast<uintptr_t>(core_->window.base());
  }
  trap.exit_code = thread.exit_code;
  thread.trap_kind = RF_TRAP_NONE;
  thread.trap_pc = 0;
  thread.fault_address = 0;
  thread.exit_code = 0;
  last_trap_ = trap;
  // Dead code never runs again: the instance goes now, a fresh one is made
  // before the next call.
  DiscardInstance();
  return trap;
}

StatusOr<uint32_t> Compartment::CheckExport(std::string_view name, const Signature& expected) const {
  std::optional<uint32_t> index = module_->FindExport(name);
  if (!index) {
    std::string names;
    for (const ExportInfo& info : module_->descriptor().exports) {
      names += names.empty() ? "" : ", ";
      names += info.name;
    }
    return Status(StatusCode::kNotFound, fmt::format("module {} has no export '{}' (exports: {})",
                                                     module_->name(), name, names));
  }
  const Signature& actual = module_->descriptor().exports[*index].signature;
  if (actual != expected) {
    return Status(StatusCode::kSignatureMismatch,
                  fmt::format("export {}.{} has signature {}, not {}", module_->name(), name,
                              actual.ToString(), expected.ToString()));
  }
  return *index;
}

const rf_export& Compartment::ExportEntry(uint32_t index) const { return module_->abi().exports[index]; }

Result<std::optional<Value>> Compartment::CallDynamic(std::string_view name,
                                                      std::span<const Value> args) {
  std::optional<uint32_t> index = module_->FindExport(name);
  if (!index) return CheckExport(name, {}).status();
  const Signature& signature = module_->descriptor().exports[*index].signature;
  bool types_match = args.size() == signature.params.size();
  for (size_t i = 0; types_match && i < args.size(); ++i) {
    types_match = args[i].type == signature.params[i];
  }
  if (!types_match) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("export {}.{} takes {}", module_->name(), name, signature.ToString()));
  }
  RF_RETURN_IF_ERROR(Revive());
  std::vector<uint64_t> slots(args.size() + 1);
  for (size_t i = 0; i < args.size(); ++i) slots[i] = args[i].bits;
  uint64_t result = 0;
  rf_thread* thread = internal::CurrentThread();
  module_->abi().exports[*index].call(thread, instance_, slots.data(), &result);
  if (thread->trap_kind != RF_TRAP_NONE) return TakeTrap(*index);
  if (!signature.result) return std::optional<Value>();
  return std::optional<Value>(Value{*signature.result, result});
}

const wasm_rt_memory_t* Compartment::memory() const {
  return live_instance_ != nullptr ? core_->memory : nullptr;
}

}  // namespace ringfence
