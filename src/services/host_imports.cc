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
  if (module != kWasi || signature.result != ValueType::kI32) return std::nullopt;
  uint32_t error = name.starts_with("fd_")     ? kBadFd
                   : name.starts_with("path_") ? kNotCapable
                   : name.starts_with("sock_") ? kNotSup
                                               : kNoSys;
  return HostImport{ImportBinding::kConstant, "", error};
}

std::string DescribeHostImports() {
  return "this host provides ringfence.log, ringfence.clock_ns, and wasi_snapshot_preview1 "
         "functions that return an errno, plus proc_exit";
}

}  // namespace ringfence::internal
