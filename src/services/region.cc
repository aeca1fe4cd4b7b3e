#include "ringfence/region.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace ringfence {
namespace {

Status KernelRefused(const char* what, uint64_t size, int error) {
  return Status(StatusCode::kResourceExhausted,
                fmt::format("cannot create a {}-byte region: {} failed: {}", size, what,
                            std::strerror(error)));
}

}  // namespace

StatusOr<std::shared_ptr<Region>> Region::Create(uint64_t size_bytes) {
  if (size_bytes == 0 || size_bytes > kMaxBytes) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("region size {} is out of range: it must be 1 to {} bytes "
                              "(4 GiB - 64 KiB)",
                              size_bytes, kMaxBytes));
  }
  uint64_t size = (size_bytes + kGranuleBytes - 1) / kGranuleBytes * kGranuleBytes;

  int fd = memfd_create("ringfence-region", MFD_CLOEXEC);
  if (fd < 0) return KernelRefused("memfd_create", size, errno);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int error = errno;
    close(fd);
    return KernelRefused("ftruncate", size, error);
  }
  void* view = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (view == MAP_FAILED) {
    int error = errno;
    close(fd);
    return KernelRefused("mmap", size, error);
  }
  return std::shared_ptr<Region>(new Region(fd, static_cast<uint8_t*>(view), size));
}

Region::~Region() {
  munmap(host_view_, size_);
  close(fd_);
}

Status Region::MapAt(uint8_t* address) const {
  void* mapped =
      mmap(address, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_, 0);
  if (mapped == MAP_FAILED) {
    return Status(StatusCode::kResourceExhausted,
                  fmt::format("cannot map a {}-byte region into a window: mmap failed: {}", size_,
                              std::strerror(errno)));
  }
  return Status::Ok();
}

}  // namespace ringfence
