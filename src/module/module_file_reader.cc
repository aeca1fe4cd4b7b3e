#include "src/module/module_file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "src/module/module_file_check.h"

namespace ringfence {
namespace internal {

StatusOr<std::vector<uint8_t>> ReadModuleFile(const std::string& path) {
  auto error = [&](std::string_view what) {
    return Status(StatusCode::kIoError, fmt::format("cannot read module file {}: {}", path, what));
  };
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
  // writer. Regular files ignore it.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return error(std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat info;
  if (fstat(fd, &info) != 0) return error(std::strerror(errno));
  if (!S_ISREG(info.st_mode)) return error("not a regular file");
  if (static_cast<uint64_t>(info.st_size) > kMaxModuleFileBytes) {
    return error(fmt::format("{} bytes, larger than the {} MiB a module file may have",
                             info.st_size, kMaxModuleFileBytes >> 20));
  }
  std::vector<uint8_t> bytes;
  try {
    bytes.resize(static_cast<size_t>(info.st_size));
  } catch (const std::bad_alloc&) {
    return error(fmt::format("no memory for its {} bytes", info.st_size));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  if (done != bytes.size()) return error("short read");
  return bytes;
}

}  // namespace internal

StatusOr<ModuleDescriptor> ReadModuleDescriptor(const std::string& path) {
  StatusOr<std::vector<uint8_t>> bytes = internal::ReadModuleFile(path);
  if (!bytes.ok()) return bytes.status();
  StatusOr<internal::CheckedModuleFile> file = internal::CheckModuleFile(*bytes, path);
  if (!file.ok()) return file.status();
  return std::move(file->descriptor);
}

}  // namespace ringfence
