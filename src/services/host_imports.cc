#include "src/services/host_imports.h"

#include <array>

namespace ringfence::internal {
namespace {

struct Entry {
  std::string_view module;
  std::string_view name;
  std::string_view signature;  // Signature::ToString() form
  ImportBinding binding;
  std::string_view host_field;
  uint32_t constant;
};

constexpr std::string_view kWasi = "wasi_snapshot_preview1";

constexpr std::array kEntries = {
    Entry{"ringfence", "log", "(i32, i32, i32) -> nil", ImportBinding::kHostCall, "log", 0},
    Entry{"ringfence", "clock_ns", "() -> i64", ImportBinding::kHostCall, "clock_ns", 0},
    Entry{kWasi, "fd_write", "(i32, i32, i32, i32) -> i32", ImportBinding::kHostCall, "fd_write", 0},
    Entry{kWasi, "fd_fdstat_get", "(i32, i32) -> i32", ImportBinding::kHostCall, "fd_fdstat_get", 0},
    Entry{kWasi, "clock_time_get", "(i32, i64, i32) -> i32", ImportBinding::kHostCall, "clock_time_get", 0},
    Entry{kWasi, "clock_res_get", "(i32, i32) -> i32", ImportBinding::kHostCall, "clock_res_get", 0},
    Entry{kWasi, "random_get", "(i32, i32) -> i32", ImportBinding::kHostCall, "random_get", 0},
    Entry{kWasi, "args_sizes_get", "(i32, i32) -> i32", ImportBinding::kHostCall, "sizes_get_empty", 0},
    Entry{kWasi, "environ_sizes_get", "(i32, i32) -> i32", ImportBinding::kHostCall, "sizes_get_empty", 0},
    // With zero arguments and variables there is nothing to write.
    Entry{kWasi, "args_get", "(i32, i32) -> i32", ImportBinding::kConstant, "", 0},
    Entry{kWasi, "environ_get", "(i32, i32) -> i32", ImportBinding::kConstant, "", 0},
    Entry{kWasi, "sched_yield", "() -> i32", ImportBinding::kConstant, "", 0},
    Entry{kWasi, "proc_exit", "(i32) -> nil", ImportBinding::kProcExit, "", 0},
    Entry{"ringfence", "sleep_ns", "(i64) -> i32", ImportBinding::kHostCall, "sleep_ns", 0},
    Entry{"ringfence", "handle_close", "(i32) -> i32", ImportBinding::kHostCall, "handle_close", 0},
    Entry{"ringfence", "lock_open", "(i32, i32) -> i32", ImportBinding::kHostCall, "lock_open", 0},
    Entry{"ringfence", "lock_acquire", "(i32) -> i32", ImportBinding::kHostCall, "lock_acquire", 0},
    Entry{"ringfence", "lock_release", "(i32) -> i32", ImportBinding::kHostCall, "lock_release", 0},
    Entry{"ringfence", "lock_mark_consistent", "(i32) -> i32", ImportBinding::kHostCall,
          "lock_mark_consistent", 0},
    Entry{"ringfence", "region_open", "(i32, i32) -> i32", ImportBinding::kHostCall, "region_open", 0},
    Entry{"ringfence", "region_offset", "(i32) -> i32", ImportBinding::kHostCall, "region_offset", 0},
    Entry{"ringfence", "region_size", "(i32) -> i32", ImportBinding::kHostCall, "region_size", 0},
    Entry{"ringfence", "call_status", "() -> i32", ImportBinding::kHostCall, "call_status", 0},
    Entry{"ringfence", "fault_point", "(i32, i32) -> i32", ImportBinding::kHostCall, "fault_point", 0},
};

// WASI errno values.
constexpr uint32_t kBadFd = 8;
constexpr uint32_t kNoSys = 52;
constexpr uint32_t kNotSup = 58;
constexpr uint32_t kNotCapable = 76;

}  // namespace

std::optional<HostImport> LookupHostImport(std::string_view module, std::string_view name,
                                           const Signature& signature) {
  std::string text = signature.ToString();
  for (const Entry& entry : kEntries) {
    if (entry.module == module && entry.name == name) {
      if (entry.signature != text) return std::nullopt;
      return HostImport{entry.binding, std::string(entry.host_field), entry.constant};
    }
  }
  if (module != kWasi && module != "ringfence" && module != "env") {
    return HostImport{ImportBinding::kLinked, "", 0};
  }
  if (module != kWasi || signature.result != ValueType::kI32) return std::nullopt;
  uint32_t error = name.starts_with("fd_")     ? kBadFd
                   : name.starts_with("path_") ? kNotCapable
                   : name.starts_with("sock_") ? kNotSup
                                               : kNoSys;
  return HostImport{ImportBinding::kConstant, "", error};
}

std::string DescribeHostImports() {
  return "this host provides the ringfence services in <ringfence/module.h>, "
         "wasi_snapshot_preview1 functions that return an errno plus proc_exit, and imports from "
         "other modules (any module name but env, which holds symbols nobody defined)";
}

}  // namespace ringfence::internal
