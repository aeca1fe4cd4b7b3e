// CrashReport: what a person or a program needs to act on one trap.
//
// The supervisor fills one CrashReport per trap it handles and hands it to
// its sinks. Two renderings:
//
//   ToJson(): one JSON object on one line, for machines (log shippers, jq);
//   ToLine(): one readable line, for people, e.g.
//     ringfence: crash: driver#3 trapped (out-of-bounds at offset 0x1234) in
//     driver.write_block [inner <- middle <- outer]; restarts 3; action: restarted
//
// CrashReportFile appends the JSON lines to a file.
#ifndef RINGFENCE_CRASH_REPORT_H_
#define RINGFENCE_CRASH_REPORT_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ringfence/status.h"
#include "ringfence/trap.h"

namespace ringfence {

// One call into the compartment before the crash.
struct RecentCall {
  std::string export_name;
  uint64_t start_unix_ns = 0;  // wall clock, ns since the Unix epoch
  uint64_t duration_ns = 0;
  std::string outcome;         // "ok", "trap: <kind>", "error: <status code name>"
};

// The RecentCall::outcome text for a call that returned `status` ("ok" or
// "error: <status code name>", e.g. "error: deadline-exceeded"), or that
// trapped with `trap` ("trap: <kind name>", e.g. "trap: out-of-bounds").
std::string CallOutcomeText(const Status& status);
std::string CallOutcomeText(const Trap& trap);

struct CrashReport {
  uint64_t time_unix_ns = 0;   // when the trap was handled (wall clock)
  std::string module;          // supervised module name
  std::string compartment;     // which instance, e.g. "driver#3" (name#incarnation)
  Trap trap;                   // kind, export, function, offset, exit code, backtrace
  std::vector<RecentCall> recent_calls;  // oldest first
  uint64_t restart_count = 0;  // restarts of this module so far, this one included
  // What the supervisor did, e.g. "restarted", "restart in 40 ms (backoff)",
  // "failed: 5 restarts in 10 s", "stopped (temporary)", "host shutdown: ...".
  std::string action;

  // One line of JSON, no trailing newline. Keys, always present:
  //   time           string, RFC 3339 UTC with microseconds,
  //                  "2026-12-02T08:09:16.123456Z"
  //   time_unix_ns   number
  //   module, compartment, export   string
  //   trap           string, the kind's name (TrapKindName)
  //   function       string, or null when unknown
  //   offset         number (window offset), or null
  //   memory_limit_refused  number (bytes), or null
  //   backtrace      array of strings, innermost first
  //   recent_calls   array of {export, start_unix_ns, duration_ns, outcome}
  //   restart_count  number
  //   action         string
  //   message        string, trap.ToString()
  // and, only for a trap of kind exit, exit_code (number); and, only when
  // set (process backend), signal (number: the signal that ended the
  // worker), syscall (string: the system call its sandbox denied) and
  // detail (string: what went wrong, in words).
  // Strings are escaped as JSON requires (quotes, control characters); bytes
  // that are not valid UTF-8 (module-chosen names can hold any) become
  // U+FFFD. Never throws on any content.
  std::string ToJson() const;

  // One readable line, no newline: control characters in names are written
  // as \xNN, so a hostile name cannot forge a second line.
  std::string ToLine() const;
};

// Appends crash reports to a file, one JSON line each (CrashReport::ToJson
// plus '\n'). The file is opened for appending (created 0644 if missing,
// never truncated): reports from earlier runs stay. Each report is written
// with a single write() of the whole line on an O_APPEND descriptor, so
// lines from several threads or processes appending to the same file do not
// interleave. Thread-safe.
class CrashReportFile {
 public:
  // kIoError (the message names the path and the system's reason) if the
  // file cannot be opened or created for writing.
  static StatusOr<std::unique_ptr<CrashReportFile>> Open(const std::string& path);

  ~CrashReportFile();
  CrashReportFile(const CrashReportFile&) = delete;
  CrashReportFile& operator=(const CrashReportFile&) = delete;

  // Appends `report`. A short write (rare: a signal, a nearly full disk) is
  // completed with further writes. kIoError (path and reason) if a write
  // fails; the line is then missing or cut short in the file.
  Status Write(const CrashReport& report);

  const std::string& path() const { return path_; }

 private:
  CrashReportFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  const std::string path_;
  const int fd_;
  // Keeps the rest of a line after a short write next to its start.
  std::mutex mutex_;
};

}  // namespace ringfence

#endif  // RINGFENCE_CRASH_REPORT_H_
