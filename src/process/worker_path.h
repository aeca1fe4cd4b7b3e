// Where the worker program (src/process/worker, `ringfence-worker`) is: the
// executable a host spawns for each process-backend compartment.
#ifndef RINGFENCE_SRC_PROCESS_WORKER_PATH_H_
#define RINGFENCE_SRC_PROCESS_WORKER_PATH_H_

#include <string>

#include "ringfence/status.h"

namespace ringfence::internal {

// The absolute path of an executable ringfence-worker, first match of:
//   1. $RINGFENCE_WORKER, if set and non-empty (then only that: a wrong
//      value is an error, not a silent fallback);
//   2. <dir of the running executable>/../libexec/ringfence/ringfence-worker
//      (an installed CLI, or bin/ringfence in the build tree);
//   3. the path it was built at (build tree);
//   4. <install prefix>/libexec/ringfence/ringfence-worker as configured.
// kNotFound, naming every place tried, if none is an executable file.
// Thread-safe (reads the environment and the file system only).
StatusOr<std::string> WorkerProgramPath();

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_PROCESS_WORKER_PATH_H_
