// The worker's side of being kept idle by the host's pool
// (src/process/worker_assignment.h has the protocol).
#ifndef RINGFENCE_SRC_PROCESS_WORKER_AWAIT_ASSIGNMENT_H_
#define RINGFENCE_SRC_PROCESS_WORKER_AWAIT_ASSIGNMENT_H_

#include "src/process/worker/worker_options.h"

namespace ringfence::worker {

// Tells the host this idle worker has prepared all it can without a module.
void AnnouncePrepared(int socket_fd);

// Waits for the assignment on idle.await_fd, closes that socket, puts the
// assigned descriptors at their numbers and returns the options of the
// whole command line. Does not return when the host lets the worker go
// (exit 0) or sends what the protocol does not allow (a message on stderr,
// kWorkerExitSetupFailed).
WorkerOptions AwaitAssignment(const WorkerOptions& idle, char* program);

}  // namespace ringfence::worker

#endif  // RINGFENCE_SRC_PROCESS_WORKER_AWAIT_ASSIGNMENT_H_
