// Reading a module file from a path, before module_file_check.h checks it:
// shared by Module::Load (which then maps the code) and
// ReadModuleDescriptor (which never does).
#ifndef RINGFENCE_SRC_MODULE_MODULE_FILE_READER_H_
#define RINGFENCE_SRC_MODULE_MODULE_FILE_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ringfence/status.h"

namespace ringfence::internal {

// The largest module file read: far above any real module (a whole SQLite
// build is a few MiB), far below what a host can afford to hold twice.
inline constexpr uint64_t kMaxModuleFileBytes = uint64_t{256} << 20;

// The bytes of the module file at `path`. Refuses, without blocking and
// before allocating, anything but a regular file (a FIFO, a device, a
// directory) and a file larger than kMaxModuleFileBytes. Errors: kIoError.
StatusOr<std::vector<uint8_t>> ReadModuleFile(const std::string& path);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_MODULE_MODULE_FILE_READER_H_
