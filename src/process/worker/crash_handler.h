// The worker's fatal-signal handler: records the crash in the channel's
// CrashRecord for the host, tells the host, then ends the process with
// 128 + signal.
#ifndef RINGFENCE_SRC_PROCESS_WORKER_CRASH_HANDLER_H_
#define RINGFENCE_SRC_PROCESS_WORKER_CRASH_HANDLER_H_

#include <cstdint>

#include "src/process/channel.h"

namespace ringfence::worker {

// Installs the handler for SIGSEGV SIGBUS SIGILL SIGFPE SIGABRT SIGSYS
// SIGTRAP SIGXCPU SIGXFSZ, running on an alternate stack (so a stack
// overflow of the serving thread is still recorded). Call it on the serving
// thread, which must keep running on the stack it runs on now: its bounds
// [current sp, top of its stack) limit the backtrace walk. Until
// RecordCrashesIn, the handler puts back the default action and returns,
// so the signal ends the process as if there were no handler. Exits the
// process with kWorkerExitSetupFailed if it cannot install.
void InstallCrashHandler();

// From now on the handler writes channel->crash (signal, si_code, si_addr,
// the denied syscall for SIGSYS, pc and a frame-pointer backtrace), stores
// crash.written = 1 (release), rings the host's doorbell and calls
// exit_group(128 + signal). Async-signal-safe; allocates nothing.
void RecordCrashesIn(internal::ChannelLayout* channel);

}  // namespace ringfence::worker

#endif  // RINGFENCE_SRC_PROCESS_WORKER_CRASH_HANDLER_H_
