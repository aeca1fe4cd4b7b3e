#include "ringfence/log.h"

#include <cstdio>
#include <mutex>
#include <utility>

namespace ringfence {
namespace {

std::mutex& SinkMutex() {
  static std::mutex mutex;
  return mutex;
}

LogSink& Sink() {
  static LogSink sink;
  return sink;
}

}  // namespace

std::string_view LogSourceName(LogSource source) {
  switch (source) {
    case LogSource::kStdout: return "stdout";
    case LogSource::kStderr: return "stderr";
    case LogSource::kDebug: return "debug";
    case LogSource::kInfo: return "info";
    case LogSource::kWarn: return "warn";
    case LogSource::kError: return "error";
  }
  return "?";
}

void SetLogSink(LogSink sink) {
  std::lock_guard lock(SinkMutex());
  Sink() = std::move(sink);
}

void EmitLog(const LogRecord& record) {
  std::lock_guard lock(SinkMutex());
  if (Sink()) {
    Sink()(record);
    return;
  }
  bool plain = record.source == LogSource::kStdout || record.source == LogSource::kStderr;
  std::fprintf(stderr, "[%.*s%s%.*s] %.*s\n", static_cast<int>(record.module.size()),
               record.module.data(), plain ? "" : " ",
               plain ? 0 : static_cast<int>(LogSourceName(record.source).size()),
               LogSourceName(record.source).data(), static_cast<int>(record.message.size()),
               record.message.data());
}

}  // namespace ringfence
