// Worker output: what a worker process writes to its stdout and stderr
// reaches the host's log (log.h) one line at a time, tagged with the module,
// as the wasm backend's module output does.
#ifndef RINGFENCE_SRC_PROCESS_OUTPUT_PUMP_H_
#define RINGFENCE_SRC_PROCESS_OUTPUT_PUMP_H_

#include <string>

namespace ringfence::internal {

// Hands the read ends of a worker's stdout and stderr pipes to the output
// thread (started on first use), which owns and closes them at end of file
// (when the worker is gone), emitting any unfinished last line. Records are
// delivered on that thread. Thread-safe.
void PumpWorkerOutput(const std::string& module, int stdout_fd, int stderr_fd);

// Pipes the output thread still reads (for leak tests).
int PumpedOutputCount();

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_PROCESS_OUTPUT_PUMP_H_
