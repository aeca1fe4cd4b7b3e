// The WASI preview1 subset wasi-libc needs for ordinary C: stdout/stderr into
// the host log, clocks, randomness, and an empty argument list and
// environment. Everything else (files, sockets) is answered with an errno by
// the module's glue without reaching the host at all.
#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "ringfence/log.h"
#include "src/services/services.h"

namespace ringfence::internal {
namespace {

// WASI errno values.
constexpr uint32_t kSuccess = 0;
constexpr uint32_t kBadFd = 8;
constexpr uint32_t kFault = 21;
constexpr uint32_t kInvalid = 28;

constexpr size_t kMaxPendingLine = 64 * 1024;
constexpr uint32_t kMaxIovecs = 1024;
// Bytes taken per fd_write call: WASI lets a write be partial (nwritten says
// how much), and libc writes the rest, so a module can never make the host
// hold more than this at once.
constexpr uint32_t kMaxWriteBytes = 64 * 1024;

// Appends `data` to the stream's pending text and emits every complete line.
void WriteStream(rf_import_context* core, LogSource source, std::string& pending,
                 std::string_view data) {
  pending.append(data);
  size_t start = 0;
  for (size_t newline; (newline = pending.find('\n', start)) != std::string::npos;
       start = newline + 1) {
    EmitLog({core->module->name(), source, std::string_view(pending).substr(start, newline - start)});
  }
  pending.erase(0, start);
  if (pending.size() > kMaxPendingLine) {
    EmitLog({core->module->name(), source, pending});
    pending.clear();
  }
}

bool ClockFor(uint32_t clock_id, clockid_t* clock) {
  switch (clock_id) {
    case 0: *clock = CLOCK_REALTIME; return true;
    case 1: *clock = CLOCK_MONOTONIC; return true;
    case 2: *clock = CLOCK_PROCESS_CPUTIME_ID; return true;
    case 3: *clock = CLOCK_THREAD_CPUTIME_ID; return true;
  }
  return false;
}

uint32_t StoreU64(rf_import_context* core, uint32_t offset, uint64_t value) {
  uint8_t* out = WindowRange(core, offset, sizeof(value));
  if (out == nullptr) return kFault;
  std::memcpy(out, &value, sizeof(value));
  return kSuccess;
}

}  // namespace

uint32_t WasiFdWrite(rf_import_context* core, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                     uint32_t nwritten) {
  if (fd != 1 && fd != 2) return kBadFd;
  if (iovs_len > kMaxIovecs) return kInvalid;
  const uint8_t* iov_bytes = WindowRange(core, iovs, uint64_t{iovs_len} * 8);
  uint8_t* written_out = WindowRange(core, nwritten, 4);
  if (iov_bytes == nullptr || written_out == nullptr) return kFault;
  std::string data;
  for (uint32_t i = 0; i < iovs_len && data.size() < kMaxWriteBytes; ++i) {
    uint32_t buffer, length;  // copied out once, then checked
    std::memcpy(&buffer, iov_bytes + i * 8, 4);
    std::memcpy(&length, iov_bytes + i * 8 + 4, 4);
    const uint8_t* bytes = WindowRange(core, buffer, length);
    if (bytes == nullptr) return kFault;
    length = std::min<uint32_t>(length, kMaxWriteBytes - static_cast<uint32_t>(data.size()));
    data.append(reinterpret_cast<const char*>(bytes), length);
  }
  if (fd == 1) {
    WriteStream(core, LogSource::kStdout, core->pending_stdout, data);
  } else {
    WriteStream(core, LogSource::kStderr, core->pending_stderr, data);
  }
  auto total = static_cast<uint32_t>(data.size());
  std::memcpy(written_out, &total, 4);
  return kSuccess;
}

uint32_t WasiFdFdstatGet(rf_import_context* core, uint32_t fd, uint32_t stat) {
  if (fd > 2) return kBadFd;
  uint8_t* out = WindowRange(core, stat, 24);
  if (out == nullptr) return kFault;
  // A character device without seek/tell rights: what wasi-libc calls a tty,
  // so stdout is line-buffered.
  constexpr uint8_t kCharacterDevice = 2;
  constexpr uint64_t kRightFdRead = 1u << 1;
  constexpr uint64_t kRightFdWrite = 1u << 6;
  uint64_t rights = fd == 0 ? kRightFdRead : kRightFdWrite;
  std::memset(out, 0, 24);
  out[0] = kCharacterDevice;
  std::memcpy(out + 8, &rights, 8);
  return kSuccess;
}

uint32_t WasiClockTimeGet(rf_import_context* core, uint32_t clock_id, uint64_t, uint32_t time) {
  clockid_t clock;
  if (!ClockFor(clock_id, &clock)) return kInvalid;
  timespec now;
  clock_gettime(clock, &now);
  return StoreU64(core, time, static_cast<uint64_t>(now.tv_sec) * 1000000000u + now.tv_nsec);
}

uint32_t WasiClockResGet(rf_import_context* core, uint32_t clock_id, uint32_t resolution) {
  clockid_t clock;
  if (!ClockFor(clock_id, &clock)) return kInvalid;
  timespec res;
  clock_getres(clock, &res);
  return StoreU64(core, resolution, static_cast<uint64_t>(res.tv_sec) * 1000000000u + res.tv_nsec);
}

uint32_t WasiRandomGet(rf_import_context* core, uint32_t buffer, uint32_t length) {
  uint8_t* out = WindowRange(core, buffer, length);
  if (out == nullptr) return kFault;
  for (uint32_t done = 0; done < length;) {
    ssize_t got = getrandom(out + done, length - done, 0);
    if (got <= 0) return kInvalid;
    done += static_cast<uint32_t>(got);
  }
  return kSuccess;
}

uint32_t WasiSizesGetEmpty(rf_import_context* core, uint32_t count, uint32_t size) {
  uint8_t* count_out = WindowRange(core, count, 4);
  uint8_t* size_out = WindowRange(core, size, 4);
  if (count_out == nullptr || size_out == nullptr) return kFault;
  std::memset(count_out, 0, 4);
  std::memset(size_out, 0, 4);
  return kSuccess;
}

void FlushPendingOutput(rf_import_context* core) {
  if (!core->pending_stdout.empty()) {
    EmitLog({core->module->name(), LogSource::kStdout, core->pending_stdout});
    core->pending_stdout.clear();
  }
  if (!core->pending_stderr.empty()) {
    EmitLog({core->module->name(), LogSource::kStderr, core->pending_stderr});
    core->pending_stderr.clear();
  }
}

}  // namespace ringfence::internal
