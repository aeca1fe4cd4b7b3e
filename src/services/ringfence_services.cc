#include <time.h>

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include "ringfence/log.h"
#include "src/services/services.h"

namespace ringfence::internal {
namespace {

// Kept out of line so the checks before it cost a module almost nothing.
[[gnu::noinline]] void EmitModuleLog(rf_import_context* core, uint32_t level, const uint8_t* text,
                                     uint32_t length) {
  // Copied before use: another view of the window could change it. At most
  // kMaxModuleLogBytes of it: a module's memory may hold gigabytes.
  uint32_t kept = std::min(length, kMaxModuleLogBytes);
  std::string copy(reinterpret_cast<const char*>(text), kept);
  if (kept < length) copy += fmt::format(" [... {} more bytes cut]", length - kept);
  LogSource source = level <= 0 ? LogSource::kDebug
                     : level == 1 ? LogSource::kInfo
                     : level == 2 ? LogSource::kWarn
                                  : LogSource::kError;
  EmitLog({core->module->name(), source, copy});
}

}  // namespace

void ServiceLog(rf_import_context* core, uint32_t level, uint32_t message, uint32_t length) {
  const uint8_t* text = WindowRange(core, message, length);
  if (text == nullptr) return;  // not inside the module's memory: dropped
  EmitModuleLog(core, level, text, length);
}

uint64_t ServiceClockNs(rf_import_context*) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace ringfence::internal
