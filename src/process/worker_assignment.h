// Handing an idle worker its module: the protocol between the host's
// worker pool (worker_pool.h) and a worker started with
// --await-assignment FD (src/process/worker/await_assignment.h).
//
// The socket is a SOCK_SEQPACKET pair; the worker holds its end at FD.
//  1. Once the worker has prepared what needs no module (its sandbox
//     filter), it sends one byte, kWorkerPrepared. The host may assign
//     before that; the worker then reads the assignment when it is done.
//  2. The host sends one message: the rest of the worker's command line as
//     NUL-terminated strings (--module NAME --channel-fd 3 --code-fd 4
//     [--region 5:ADDRESS:SIZE]... [--memory-limit BYTES]), with the
//     descriptors in SCM_RIGHTS. The worker puts the i-th descriptor at
//     number kFirstAssignedFd + i, so the command line names them by those
//     numbers.
//  3. The worker closes the socket and goes on as if started with that
//     command line. End of file instead of an assignment: the host let the
//     worker go; it exits with 0.
#ifndef RINGFENCE_SRC_PROCESS_WORKER_ASSIGNMENT_H_
#define RINGFENCE_SRC_PROCESS_WORKER_ASSIGNMENT_H_

#include <cstddef>

namespace ringfence::internal {

inline constexpr char kWorkerPrepared = 'P';
inline constexpr int kFirstAssignedFd = 3;
// Bounds of one assignment: the command line's bytes and the descriptors
// (channel, code, one per shared region). Staying below 64 lets the worker
// stage received descriptors above every target number.
inline constexpr size_t kAssignmentMaxBytes = 16 * 1024;
inline constexpr size_t kAssignmentMaxFds = 48;

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_PROCESS_WORKER_ASSIGNMENT_H_
