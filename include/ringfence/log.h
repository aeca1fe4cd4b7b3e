// Where module output goes.
//
// Module stdout/stderr (printf, fprintf) and rf_log() messages arrive here,
// one complete line per record, tagged with the module name. The default sink
// writes "[module] message" lines to the host's stderr.
#ifndef RINGFENCE_LOG_H_
#define RINGFENCE_LOG_H_

#include <functional>
#include <string_view>

namespace ringfence {

enum class LogSource {
  kStdout,  // the module wrote to fd 1
  kStderr,  // the module wrote to fd 2
  kDebug, kInfo, kWarn, kError,  // rf_log() at that level
};

// "stdout", "stderr", "debug", "info", "warn", "error".
std::string_view LogSourceName(LogSource source);

struct LogRecord {
  std::string_view module;
  LogSource source;
  std::string_view message;  // one line, without the newline
};

using LogSink = std::function<void(const LogRecord&)>;

// Replaces the process-wide sink; an empty sink restores the default.
// Thread-safe. Records are delivered one at a time (the sink is never called
// concurrently), on the thread that runs the module, with the sink's lock
// held. So a sink must not throw (it runs between module frames: no
// exception may cross a gate) and must not call SetLogSink or EmitLog
// (it would deadlock).
void SetLogSink(LogSink sink);

// Delivers one record to the current sink (used by the host services).
void EmitLog(const LogRecord& record);

}  // namespace ringfence

#endif  // RINGFENCE_LOG_H_
