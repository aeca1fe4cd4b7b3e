// The worker's end of the channel (src/process/channel.h): serves the
// host's calls into the module and forwards the module's service requests
// (rf_worker_api) to the host.
#ifndef RINGFENCE_SRC_PROCESS_WORKER_WORKER_CHANNEL_H_
#define RINGFENCE_SRC_PROCESS_WORKER_WORKER_CHANNEL_H_

#include <cstddef>
#include <cstdint>

#include "ringfence/internal/native_abi.h"
#include "src/process/channel.h"

namespace ringfence::worker {

// The service table handed to the module. Its functions forward to the
// channel made by StartChannel(); called before that, they end the worker
// with kWorkerExitProtocolError.
const rf_worker_api& WorkerApi();

// Makes `layout` the channel WorkerApi() talks over and `module` the code
// kMessageCall runs. Call once, on the serving thread, before the module's
// start() (its constructors may already call services).
void StartChannel(internal::ChannelLayout* layout, const rf_native_module* module);

// Sends kMessageReady with the module's code range.
void SendReady(uintptr_t code_begin, uintptr_t code_end, uintptr_t load_base);

// Serves kMessageCall until the process ends; anything else from the host
// ends it with kWorkerExitProtocolError. Serving thread only: the channel
// carries one call at a time (the host serialises a compartment's calls),
// so a service requested from another module thread is a protocol
// violation the host detects (it sees a kService outside a call).
[[noreturn]] void Serve();

}  // namespace ringfence::worker

#endif  // RINGFENCE_SRC_PROCESS_WORKER_WORKER_CHANNEL_H_
