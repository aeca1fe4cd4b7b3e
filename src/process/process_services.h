// Host services requested by a worker over the channel (kMessageService),
// served by the same service functions as the wasm backend's imports.
#ifndef RINGFENCE_SRC_PROCESS_PROCESS_SERVICES_H_
#define RINGFENCE_SRC_PROCESS_PROCESS_SERVICES_H_

#include <cstdint>
#include <string>

#include "src/compartment/compartment_core.h"
#include "src/process/channel.h"

namespace ringfence::internal {

// Serves `request` (copied out of the ring) for `core`, whose memory is the
// channel's payload area. Returns the service's result for the reply.
// A malformed request (unknown service, payload longer than the area,
// a linked call to an import that does not exist) is a protocol violation:
// false, with core->worker_detail saying what was wrong, and nothing served.
// Runs inside the compartment's frame: a service may end in a trap (a kill,
// the deadline, an injected fault) and unwind this thread to it.
bool ServeRequest(rf_import_context* core, const Message& request, uint64_t* result);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_PROCESS_PROCESS_SERVICES_H_
