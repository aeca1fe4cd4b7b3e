// An ELF object the toolchain built, opened for reading with libelf: what
// the build's checks of its own output share.
#ifndef RINGFENCE_SRC_TOOLCHAIN_ELF_READER_H_
#define RINGFENCE_SRC_TOOLCHAIN_ELF_READER_H_

#include <libelf.h>

#include <memory>
#include <string>
#include <string_view>

#include "ringfence/status.h"

namespace ringfence::internal {

class ElfReader {
 public:
  // kBuildFailed if the file cannot be read or is not an ELF object.
  static StatusOr<std::unique_ptr<ElfReader>> Open(const std::string& path);
  ~ElfReader();
  ElfReader(const ElfReader&) = delete;
  ElfReader& operator=(const ElfReader&) = delete;

  Elf* elf() const { return elf_; }
  // kBuildFailed naming the file, `what`, and libelf's latest error.
  Status Error(std::string_view what) const;

 private:
  ElfReader(std::string path, int fd, Elf* elf) : path_(std::move(path)), fd_(fd), elf_(elf) {}
  std::string path_;
  int fd_;
  Elf* elf_;
};

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_ELF_READER_H_
