// The module file container.
//
//   offset  size  field
//   0       8     magic "RFMODULE"
//   8       4     module ABI version (little-endian), RF_MODULE_ABI_VERSION
//   12      4     reserved, must be 0
//   16      8     descriptor length D
//   24      8     code length C
//   32      32    SHA-256 of header bytes 0..31 followed by the D + C bytes
//                 that follow the header: every byte but the digest itself
//   64      D     descriptor (JSON, see ModuleDescriptor)
//   64+D    C     native code (an ELF shared object)
//
// The file is exactly 64 + D + C bytes. Everything is checked before any
// code is mapped, so a truncated or corrupt file is refused with a message.
#ifndef RINGFENCE_SRC_MODULE_MODULE_FILE_FORMAT_H_
#define RINGFENCE_SRC_MODULE_MODULE_FILE_FORMAT_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringfence/status.h"

namespace ringfence::internal {

inline constexpr size_t kModuleHeaderBytes = 64;

struct ModuleFileParts {
  std::string_view descriptor_json;
  std::span<const uint8_t> code;
};

std::vector<uint8_t> PackModuleFile(std::string_view descriptor_json,
                                    std::span<const uint8_t> code);

// Views into `bytes`. Errors: kNotAModule (magic, size, hash), kAbiMismatch.
StatusOr<ModuleFileParts> UnpackModuleFile(std::span<const uint8_t> bytes,
                                           const std::string& origin);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_MODULE_MODULE_FILE_FORMAT_H_
