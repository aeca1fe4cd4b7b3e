#include "src/wasm/host_api.h"

#include <unwind.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "ringfence/internal/thread_gate.h"
#include "src/compartment/compartment_core.h"
#include "src/services/services.h"

namespace ringfence::internal {
namespace {

constexpr uint32_t kPageBytes = WindowReservation::kPageBytes;

rf_thread* CurrentThreadForModule() { return &t_thread_gate.thread; }

// The compartment whose gate the calling thread is in. Memory callbacks run
// only inside a gate (instantiation and memory.grow).
rf_import_context* CurrentCore() {
  rf_frame* top = t_thread_gate.thread.top;
  RF_CHECK(top != nullptr);
  return CoreOfInstance(rf_frame_instance(top));
}

// Whether `core` may have `memory_pages` of memory and `table_bytes` of
// tables: together they stay within its memory limit.
bool WithinLimit(const rf_import_context* core, uint64_t memory_pages, uint64_t table_bytes) {
  uint64_t limit = uint64_t{core->memory_limit_pages} * kPageBytes;
  uint64_t memory = memory_pages * kPageBytes;
  return memory <= limit && table_bytes <= limit - memory;
}

uint64_t MemoryPages(const rf_import_context* core) {
  return core->memory != nullptr ? core->memory->pages : 0;
}

void AllocateMemory(wasm_rt_memory_t* memory, uint32_t initial_pages, uint32_t max_pages) {
  rf_import_context* core = CurrentCore();
  RF_CHECK(core->memory == nullptr);  // one memory per module (checked at build)
  uint32_t limit = std::min(max_pages, core->memory_limit_pages);
  if (initial_pages > limit || !WithinLimit(core, initial_pages, core->table_bytes) ||
      !core->window.CommitTo(uint64_t{initial_pages} * kPageBytes)) {
    RaiseTrap(RF_TRAP_MEMORY_LIMIT);
  }
  memory->data = core->window.base();
  memory->pages = initial_pages;
  memory->max_pages = limit;
  memory->size = initial_pages * kPageBytes;  // limit < 65536 pages: fits in u32
  core->memory = memory;
}

uint32_t GrowMemory(wasm_rt_memory_t* memory, uint32_t delta_pages) {
  rf_import_context* core = CurrentCore();
  uint32_t old_pages = memory->pages;
  uint64_t new_pages = uint64_t{old_pages} + delta_pages;
  if (new_pages > memory->max_pages || !WithinLimit(core, new_pages, core->table_bytes)) {
    core->memory_refused = true;
    return UINT32_MAX;
  }
  if (delta_pages == 0) return old_pages;
  if (!core->window.CommitTo(new_pages * kPageBytes)) {
    core->memory_refused = true;
    return UINT32_MAX;
  }
  memory->pages = static_cast<uint32_t>(new_pages);
  memory->size = static_cast<uint32_t>(new_pages * kPageBytes);
  return old_pages;
}

// The compartment resets its window itself after freeing the instance.
void FreeMemory(wasm_rt_memory_t*) {}

void* ResizeTable(void* data, uint32_t old_elements, uint32_t new_elements, uint32_t element_size) {
  rf_import_context* core = CurrentCore();
  uint64_t old_bytes = uint64_t{old_elements} * element_size;
  uint64_t new_bytes = uint64_t{new_elements} * element_size;
  RF_CHECK(new_bytes >= old_bytes && core->table_bytes >= old_bytes);
  uint64_t total = core->table_bytes - old_bytes + new_bytes;
  if (!WithinLimit(core, MemoryPages(core), total)) {
    core->memory_refused = true;
    return nullptr;
  }
  size_t bytes = std::max<uint64_t>(new_bytes, 1);
  // A new table's pages stay untouched until used.
  void* grown = data == nullptr ? std::calloc(bytes, 1) : std::realloc(data, bytes);
  if (grown == nullptr) return nullptr;
  if (data != nullptr) std::memset(static_cast<char*>(grown) + old_bytes, 0, new_bytes - old_bytes);
  core->table_bytes = total;
  return grown;
}

void FreeTable(void* data) { std::free(data); }

uint32_t RegisterFuncType(uint32_t params, uint32_t results, const wasm_rt_type_t* types) {
  static std::mutex mutex;
  static std::map<std::vector<int>, uint32_t> indices;
  std::vector<int> key;
  key.reserve(params + results + 1);
  key.push_back(static_cast<int>(params));
  for (uint32_t i = 0; i < params + results; ++i) key.push_back(types[i]);
  std::lock_guard lock(mutex);
  auto [it, inserted] = indices.emplace(std::move(key), static_cast<uint32_t>(indices.size() + 1));
  return it->second;
}

rf_host_api MakeHostApi() {
  rf_host_api api = {};
  api.abi_version = RF_MODULE_ABI_VERSION;
  api.current_thread = CurrentThreadForModule;
  api.allocate_memory = AllocateMemory;
  api.grow_memory = GrowMemory;
  api.free_memory = FreeMemory;
  api.register_func_type = RegisterFuncType;
  api.resize_table = ResizeTable;
  api.free_table = FreeTable;
  api.log = ServiceLog;
  api.clock_ns = ServiceClockNs;
  api.fd_write = WasiFdWrite;
  api.fd_fdstat_get = WasiFdFdstatGet;
  api.clock_time_get = WasiClockTimeGet;
  api.clock_res_get = WasiClockResGet;
  api.random_get = WasiRandomGet;
  api.sizes_get_empty = WasiSizesGetEmpty;
  api.sleep_ns = ServiceSleepNs;
  api.handle_close = ServiceHandleClose;
  api.lock_open = ServiceLockOpen;
  api.lock_acquire = ServiceLockAcquire;
  api.lock_release = ServiceLockRelease;
  api.lock_mark_consistent = ServiceLockMarkConsistent;
  api.region_open = ServiceRegionOpen;
  api.region_offset = ServiceRegionOffset;
  api.region_size = ServiceRegionSize;
  api.call_status = ServiceCallStatus;
  api.call_linked = ServiceCallLinked;
  api.fault_point = ServiceFaultPoint;
  return api;
}

struct BacktraceWalk {
  const Module* module;
  uintptr_t gate_frame;  // the innermost gate's rf_frame
  rf_thread* thread;
  bool last_recorded;    // the previous frame's pc is the last entry
};

_Unwind_Reason_Code CollectModuleFrame(_Unwind_Context* context, void* arg) {
  auto* walk = static_cast<BacktraceWalk*>(arg);
  rf_thread& thread = *walk->thread;
  // For each frame the unwinder reports its stack pointer (its callee's
  // CFA). Once that is above the gate's rf_frame, the previous frame held
  // the rf_frame: it was the gate, not module code of this call.
  if (_Unwind_GetCFA(context) > walk->gate_frame) {
    if (walk->last_recorded) --thread.backtrace_depth;
    return _URC_END_OF_STACK;
  }
  int before_instruction = 0;
  uintptr_t pc = _Unwind_GetIPInfo(context, &before_instruction);
  if (before_instruction == 0 && pc != 0) --pc;  // a return address: name its call
  // (Reaching here also confirms the previous entry was not the gate.)
  bool in_module = walk->module->ContainsCode(pc);
  if (in_module) {
    if (thread.backtrace_depth == RF_BACKTRACE_MAX) return _URC_END_OF_STACK;
    thread.backtrace[thread.backtrace_depth++] = pc;
  }
  walk->last_recorded = in_module;
  return _URC_NO_REASON;
}

// Host services are built without frame pointers, so the frames between a
// host service and the module code that called it are found with the
// unwinder's tables instead. Not async-signal-safe; RaiseTrap never runs in
// a signal handler.
void RecordHostBacktrace(rf_thread& thread, const Module& module) {
  thread.backtrace_depth = 0;
  BacktraceWalk walk{&module, reinterpret_cast<uintptr_t>(thread.top), &thread, false};
  _Unwind_Backtrace(CollectModuleFrame, &walk);
}

}  // namespace

void RaiseTrap(uint32_t kind) {
  rf_thread& thread = t_thread_gate.thread;
  const Module& module = *CoreOfInstance(rf_frame_instance(thread.top))->module;
  thread.trap_kind = kind;
  thread.trap_pc = 0;
  RecordHostBacktrace(thread, module);
  rf_unwind_top(&thread, module.abi().unwind);
}

const rf_host_api& HostApi() {
  static const rf_host_api api = MakeHostApi();
  return api;
}

}  // namespace ringfence::internal
