// Placeholder until the worker program lands.
#ifndef RINGFENCE_SRC_PROCESS_WORKER_PATH_H_
#define RINGFENCE_SRC_PROCESS_WORKER_PATH_H_
#include <string>
#include "ringfence/status.h"
namespace ringfence::internal {
StatusOr<std::string> WorkerProgramPath();
}
#endif
