// Starting a worker process and giving it a module. Workers start idle
// (--await-assignment): posix_spawn (no fork of a multithreaded host), with
// exactly the descriptors they need, in their own process group, with
// default signal dispositions, an empty signal mask and an empty
// environment (module code has no business with the host's). The module
// comes later over the assignment socket (worker_assignment.h).
#ifndef RINGFENCE_SRC_PROCESS_WORKER_SPAWN_H_
#define RINGFENCE_SRC_PROCESS_WORKER_SPAWN_H_

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ringfence/status.h"

namespace ringfence::internal {

// A started worker waiting for its module. Its descriptors belong to
// whoever holds it (CloseIdleWorker releases them).
struct IdleWorker {
  std::string program;
  pid_t pid = 0;
  int pidfd = -1;
  int socket_fd = -1;  // the host's end of the assignment socket
  int stdout_fd = -1;  // read ends of the worker's fds 1 and 2
  int stderr_fd = -1;
};

// Starts `program` idle. kUnavailable if the kernel refuses (no processes,
// no descriptors) or the program cannot be started; the message says why.
// The worker's parent-death signal follows the calling thread: call from a
// thread that lives as long as the process.
StatusOr<IdleWorker> SpawnIdleWorker(const std::string& program);

// Sends SIGKILL to the worker behind `pidfd` (nothing if it is gone).
void KillWorker(int pidfd);

// Reaps the worker behind `pidfd` if it has exited, without waiting; true
// if it did. `status` (unless null) gets how it ended, as waitid reports it.
bool ReapIfExited(int pidfd, siginfo_t* status = nullptr);

// Closes what `worker` holds (a worker not yet reaped must be reaped by
// someone else: this does not wait for it).
void CloseIdleWorker(IdleWorker& worker);

struct WorkerRegion {
  int fd;            // the region's memfd (the host's; not consumed)
  uint64_t address;  // where the worker maps it (the window offset)
  uint64_t size;
};

struct WorkerAssignment {
  std::string module_name;
  int channel_fd = -1;  // the channel's memfd (not consumed)
  int code_fd = -1;     // the module's native code (not consumed)
  std::vector<WorkerRegion> regions;
  uint64_t memory_limit_bytes = 0;
};

// Sends `assignment` over the idle worker's socket. kUnavailable if the
// worker is gone or the assignment is too big for one message (more
// regions than kAssignmentMaxFds allows).
Status AssignWorker(const IdleWorker& worker, const WorkerAssignment& assignment);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_PROCESS_WORKER_SPAWN_H_
