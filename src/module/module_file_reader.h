// Reading a module file and checking it before anything in it is used:
// shared by Module::Load (which then maps the code) and
// ReadModuleDescriptor (which never does).
#ifndef RINGFENCE_SRC_MODULE_MODULE_FILE_READER_H_
#define RINGFENCE_SRC_MODULE_MODULE_FILE_READER_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ringfence/module_file.h"
#include "ringfence/status.h"

namespace ringfence::internal {

// The largest module file read: far above any real module (a whole SQLite
// build is a few MiB), far below what a host can afford to hold twice.
inline constexpr uint64_t kMaxModuleFileBytes = uint64_t{256} << 20;

// The bytes of the module file at `path`. Refuses, without blocking and
// before allocating, anything but a regular file (a FIFO, a device, a
// directory) and a file larger than kMaxModuleFileBytes. Errors: kIoError.
StatusOr<std::vector<uint8_t>> ReadModuleFile(const std::string& path);

struct CheckedModuleFile {
  ModuleDescriptor descriptor;
  std::span<const uint8_t> code;  // a view into the file's bytes
};

// Unpacks a module file's bytes and parses its descriptor; checks the
// container (module_file_format.h), the ABI version and that the code's
// SHA-256 is the descriptor's content_hash. Maps nothing. Errors:
// kNotAModule, kAbiMismatch, each naming `origin`.
StatusOr<CheckedModuleFile> CheckModuleFile(std::span<const uint8_t> bytes,
                                            const std::string& origin);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_MODULE_MODULE_FILE_READER_H_
