// Starting a worker process: posix_spawn (no fork of a multithreaded host),
// with exactly the file descriptors the worker needs, in its own process
// group, with default signal dispositions and an empty signal mask.
#ifndef RINGFENCE_SRC_PROCESS_WORKER_SPAWN_H_
#define RINGFENCE_SRC_PROCESS_WORKER_SPAWN_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ringfence/status.h"

namespace ringfence::internal {

struct WorkerRegion {
  int fd;            // the region's memfd (the host's; not consumed)
  uint64_t address;  // where the worker maps it (the window offset)
  uint64_t size;
};

struct WorkerSpawnRequest {
  std::string program;  // the worker program (WorkerProgramPath)
  std::string module_name;
  int channel_fd = -1;  // the channel's memfd (not consumed)
  int code_fd = -1;     // the module's native code (not consumed)
  std::vector<WorkerRegion> regions;
  uint64_t memory_limit_bytes = 0;
};

struct SpawnedWorker {
  pid_t pid = 0;
  int pidfd = -1;      // owned by the caller
  int stdout_fd = -1;  // read ends of the worker's fd 1 and 2; owned by the caller
  int stderr_fd = -1;
};

// Starts the worker. kUnavailable if the kernel refuses (no processes, no
// file descriptors) or the program cannot be started; the message says why.
StatusOr<SpawnedWorker> SpawnWorker(const WorkerSpawnRequest& request);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_PROCESS_WORKER_SPAWN_H_
