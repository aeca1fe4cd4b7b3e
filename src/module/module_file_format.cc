#include "src/module/module_file_format.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "ringfence/internal/module_abi.h"
#include "src/base/sha256.h"

namespace ringfence::internal {
namespace {

constexpr char kMagic[8] = {'R', 'F', 'M', 'O', 'D', 'U', 'L', 'E'};

void PutLe(uint8_t* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t GetLe(const uint8_t* in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{in[i]} << (8 * i);
  return value;
}

constexpr size_t kDigestOffset = 32;

// The checksum covers every byte of the file except the digest's own.
Sha256Digest FileDigest(std::span<const uint8_t> file) {
  return Sha256({file.first(kDigestOffset), file.subspan(kModuleHeaderBytes)});
}

}  // namespace

std::vector<uint8_t> PackModuleFile(std::string_view descriptor_json,
                                    std::span<const uint8_t> code) {
  std::vector<uint8_t> file(kModuleHeaderBytes);
  std::memcpy(file.data(), kMagic, sizeof(kMagic));
  PutLe(&file[8], RF_MODULE_ABI_VERSION, 4);
  PutLe(&file[16], descriptor_json.size(), 8);
  PutLe(&file[24], code.size(), 8);
  file.insert(file.end(), descriptor_json.begin(), descriptor_json.end());
  file.insert(file.end(), code.begin(), code.end());
  Sha256Digest digest = FileDigest(file);
  std::copy(digest.begin(), digest.end(), file.begin() + kDigestOffset);
  return file;
}

StatusOr<ModuleFileParts> UnpackModuleFile(std::span<const uint8_t> bytes,
                                           const std::string& origin) {
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return Status(StatusCode::kNotAModule,
                  fmt::format("{} is not a ringfence module file (no RFMODULE header); build one "
                              "with `ringfence build`",
                              origin));
  }
  if (bytes.size() < kModuleHeaderBytes) {
    return Status(StatusCode::kNotAModule,
                  fmt::format("{} is truncated: {} bytes, shorter than the {}-byte header", origin,
                              bytes.size(), kModuleHeaderBytes));
  }
  uint64_t version = GetLe(&bytes[8], 4);
  if (version != RF_MODULE_ABI_VERSION) {
    return Status(StatusCode::kAbiMismatch,
                  fmt::format("{} was built for module ABI version {}; this ringfence loads "
                              "version {}. Rebuild it with this ringfence's `ringfence build`",
                              origin, version, RF_MODULE_ABI_VERSION));
  }
  if (GetLe(&bytes[12], 4) != 0) {
    return Status(StatusCode::kNotAModule,
                  fmt::format("{} is corrupt: its header's reserved bytes 12-15 are not zero",
                              origin));
  }
  uint64_t descriptor_length = GetLe(&bytes[16], 8);
  uint64_t code_length = GetLe(&bytes[24], 8);
  uint64_t body = bytes.size() - kModuleHeaderBytes;
  if (descriptor_length > body || code_length > body - descriptor_length ||
      descriptor_length + code_length != body) {
    return Status(StatusCode::kNotAModule,
                  fmt::format("{} is truncated or has trailing data: the header announces {} "
                              "bytes, the file has {}",
                              origin, kModuleHeaderBytes + descriptor_length + code_length,
                              bytes.size()));
  }
  Sha256Digest digest = FileDigest(bytes);
  if (!std::equal(digest.begin(), digest.end(), bytes.begin() + kDigestOffset)) {
    return Status(StatusCode::kNotAModule,
                  fmt::format("{} is corrupt: its content does not match the checksum in its "
                              "header",
                              origin));
  }
  ModuleFileParts parts;
  parts.descriptor_json = std::string_view(
      reinterpret_cast<const char*>(bytes.data() + kModuleHeaderBytes), descriptor_length);
  parts.code = bytes.subspan(kModuleHeaderBytes + descriptor_length, code_length);
  return parts;
}

}  // namespace ringfence::internal
