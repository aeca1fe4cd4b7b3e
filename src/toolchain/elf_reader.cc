#include "src/toolchain/elf_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace ringfence::internal {

StatusOr<std::unique_ptr<ElfReader>> ElfReader::Open(const std::string& path) {
  if (elf_version(EV_CURRENT) == EV_NONE) {
    return Status(StatusCode::kBuildFailed, fmt::format("{}: libelf is unusable", path));
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status(StatusCode::kBuildFailed,
                  fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  std::unique_ptr<ElfReader> reader(new ElfReader(path, fd, elf_begin(fd, ELF_C_READ, nullptr)));
  if (reader->elf_ == nullptr || elf_kind(reader->elf_) != ELF_K_ELF) {
    return reader->Error("not an ELF object");
  }
  return reader;
}

ElfReader::~ElfReader() {
  if (elf_ != nullptr) elf_end(elf_);
  close(fd_);
}

Status ElfReader::Error(std::string_view what) const {
  return Status(StatusCode::kBuildFailed,
                fmt::format("{}: {}: {}", path_, what, elf_errmsg(elf_errno())));
}

}  // namespace ringfence::internal
