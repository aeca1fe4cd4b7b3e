#include "ringfence/crash_report.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ringfence {
namespace {

constexpr uint64_t kNanosPerSecond = 1'000'000'000;

// "2026-12-02T08:09:16.123456Z".
std::string Rfc3339Utc(uint64_t unix_ns) {
  auto seconds = static_cast<time_t>(unix_ns / kNanosPerSecond);
  uint64_t micros = (unix_ns % kNanosPerSecond) / 1000;
  struct tm utc = {};
  if (gmtime_r(&seconds, &utc) == nullptr) return fmt::format("@{}", unix_ns);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, micros);
}

// For the people's line: names come from modules, so a newline or escape
// sequence in one must not reach a terminal or split the line.
std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  return out;
}

template <typename T>
nlohmann::json OrNull(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

std::string CallOutcomeText(const Status& status) {
  if (status.ok()) return "ok";
  return fmt::format("error: {}", StatusCodeName(status.code()));
}

std::string CallOutcomeText(const Trap& trap) {
  return fmt::format("trap: {}", TrapKindName(trap.kind));
}

std::string CrashReport::ToJson() const {
  nlohmann::json calls = nlohmann::json::array();
  for (const RecentCall& call : recent_calls) {
    calls.push_back({{"export", call.export_name},
                     {"start_unix_ns", call.start_unix_ns},
                     {"duration_ns", call.duration_ns},
                     {"outcome", call.outcome}});
  }
  nlohmann::json json = {
      {"time", Rfc3339Utc(time_unix_ns)},
      {"time_unix_ns", time_unix_ns},
      {"module", module},
      {"compartment", compartment},
      {"export", trap.export_name},
      {"trap", std::string(TrapKindName(trap.kind))},
      {"function", trap.function.empty() ? nlohmann::json(nullptr) : nlohmann::json(trap.function)},
      {"offset", OrNull(trap.offset)},
      {"memory_limit_refused", OrNull(trap.memory_limit_refused)},
      {"backtrace", trap.backtrace},
      {"recent_calls", std::move(calls)},
      {"restart_count", restart_count},
      {"action", action},
      {"message", trap.ToString()},
  };
  if (trap.kind == TrapKind::kExit) json["exit_code"] = trap.exit_code;
  // Process backend only; absent rather than null so wasm reports keep their shape.
  if (trap.signal != 0) json["signal"] = trap.signal;
  if (!trap.syscall.empty()) json["syscall"] = trap.syscall;
  if (!trap.detail.empty()) json["detail"] = trap.detail;
  if (trap.worker_reported) json["worker_reported"] = true;
  // Names chosen by a module may be any bytes: replace what is not UTF-8
  // rather than throw.
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string CrashReport::ToLine() const {
  std::string what(TrapKindName(trap.kind));
  if (trap.kind == TrapKind::kExit) what += fmt::format(" with code {}", trap.exit_code);
  if (!trap.syscall.empty()) what += fmt::format(" in system call {}", trap.syscall);
  if (trap.signal != 0) what += fmt::format(" by signal {}", trap.signal);
  if (trap.offset) what += fmt::format(" at offset {:#x}", *trap.offset);
  if (trap.memory_limit_refused) {
    what += fmt::format(", memory growth refused at {} MiB", *trap.memory_limit_refused >> 20);
  }
  std::string where = trap.module.empty() ? module : trap.module;
  if (!trap.export_name.empty()) where += "." + trap.export_name;
  std::string text = fmt::format("ringfence: crash: {} trapped ({}) in {}",
                                 compartment.empty() ? module : compartment, what, where);
  if (!trap.backtrace.empty()) {
    std::string frames;
    for (const std::string& frame : trap.backtrace) {
      if (!frames.empty()) frames += " <- ";
      frames += frame;
    }
    text += fmt::format(" [{}]", frames);
  } else if (!trap.function.empty()) {
    text += fmt::format(" [{}]", trap.function);
  }
  if (!trap.detail.empty()) text += fmt::format(": {}", trap.detail);
  if (trap.worker_reported) text += " (as reported by the worker: unverified)";
  text += fmt::format("; restarts {}; action: {}", restart_count, action);
  return Printable(text);
}

StatusOr<std::unique_ptr<CrashReportFile>> CrashReportFile::Open(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status(StatusCode::kIoError,
                  fmt::format("cannot open crash report file {}: {}", path, std::strerror(errno)));
  }
  return std::unique_ptr<CrashReportFile>(new CrashReportFile(path, fd));
}

CrashReportFile::~CrashReportFile() { close(fd_); }

Status CrashReportFile::Write(const CrashReport& report) {
  std::string line = report.ToJson();
  line += '\n';
  std::lock_guard lock(mutex_);
  size_t written = 0;
  while (written < line.size()) {
    // One write() for the whole line: O_APPEND places it at the end in one
    // piece. Only a short write (disk nearly full, a signal) needs more.
    ssize_t n = write(fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(StatusCode::kIoError, fmt::format("cannot write crash report to {}: {}",
                                                      path_, std::strerror(errno)));
    }
    written += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace ringfence
