#include "src/wasm/window_reservation.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ringfence::internal {

WindowReservation::~WindowReservation() {
  if (base_ != nullptr) munmap(base_, kReservedBytes);
}

Status WindowReservation::Reserve() {
  RF_CHECK(base_ == nullptr);
  void* base = mmap(nullptr, kReservedBytes, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    return Status(StatusCode::kResourceExhausted,
                  std::string("cannot reserve an 8 GiB window for a compartment: ") +
                      std::strerror(errno) + " (too many live compartments?)");
  }
  base_ = static_cast<uint8_t*>(base);
  return Status::Ok();
}

bool WindowReservation::CommitTo(uint64_t bytes) {
  RF_CHECK(base_ != nullptr && bytes % kPageBytes == 0 && bytes <= kReservedBytes);
  if (bytes > committed_) {
    if (mprotect(base_ + committed_, bytes - committed_, PROT_READ | PROT_WRITE) != 0) return false;
  } else if (bytes < committed_) {
    madvise(base_ + bytes, committed_ - bytes, MADV_DONTNEED);
    if (mprotect(base_ + bytes, committed_ - bytes, PROT_NONE) != 0) return false;
  }
  committed_ = bytes;
  return true;
}

void WindowReservation::DropPages() {
  if (committed_ > 0) madvise(base_, committed_, MADV_DONTNEED);
}

}  // namespace ringfence::internal
