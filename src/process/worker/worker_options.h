// The worker's command line (see main.cc for what each part is for).
#ifndef RINGFENCE_SRC_PROCESS_WORKER_WORKER_OPTIONS_H_
#define RINGFENCE_SRC_PROCESS_WORKER_WORKER_OPTIONS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ringfence::worker {

// A shared region the host maps into the module's 32-bit address range.
struct RegionOption {
  int fd = -1;
  uint64_t address = 0;
  uint64_t size = 0;
};

struct WorkerOptions {
  // An idle worker (--await-assignment FD) has only this and parent_pid: it
  // prepares what needs no module, then takes the rest of its command line
  // from the host over this socket (await_assignment.h).
  int await_fd = -1;
  std::string module;
  pid_t parent_pid = 0;
  int channel_fd = -1;
  int code_fd = -1;
  std::vector<RegionOption> regions;
  uint64_t memory_limit = 0;  // bytes; 0: no limit beyond the worker's own
  uint64_t cpu_seconds = 0;   // 0: no limit
};

// Parses argv; on a bad command line prints why to stderr and exits with
// kWorkerExitSetupFailed (--help exits 0). Without --await-assignment,
// --module, --channel-fd and --code-fd are required.
WorkerOptions ParseWorkerOptions(int argc, char** argv);

}  // namespace ringfence::worker

#endif  // RINGFENCE_SRC_PROCESS_WORKER_WORKER_OPTIONS_H_
