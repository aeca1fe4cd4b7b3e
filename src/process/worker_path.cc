#include "src/process/worker_path.h"
#include <cstdlib>
namespace ringfence::internal {
StatusOr<std::string> WorkerProgramPath() {
  if (const char* path = std::getenv("RINGFENCE_WORKER")) return std::string(path);
  return Status(StatusCode::kNotFound, "no worker program");
}
}
