// The address range a compartment's memory lives in.
//
// wasm32 addresses are 32-bit and a load or store adds a 32-bit constant
// offset, so every access the module can make lands within 8 GiB of the base.
// Reserving that range once (inaccessible) and committing pages as memory
// grows makes bounds checks unnecessary: anything past the committed size
// faults, and the fault handler turns the fault into a trap.
//
// One reservation per compartment, kept across restarts (a fresh 8 GiB
// reservation costs page faults; reusing one costs only the pages the last
// instance touched). Not thread-safe: owned by one compartment.
#ifndef RINGFENCE_SRC_WASM_WINDOW_RESERVATION_H_
#define RINGFENCE_SRC_WASM_WINDOW_RESERVATION_H_

#include <cstdint>

#include "ringfence/status.h"

namespace ringfence::internal {

class WindowReservation {
 public:
  static constexpr uint64_t kPageBytes = 65536;
  static constexpr uint64_t kReservedBytes = uint64_t{8} << 30;

  WindowReservation() = default;
  ~WindowReservation();
  WindowReservation(const WindowReservation&) = delete;
  WindowReservation& operator=(const WindowReservation&) = delete;

  // Reserves the range. kResourceExhausted if the address space is full.
  Status Reserve();

  uint8_t* base() const { return base_; }
  uint64_t committed_bytes() const { return committed_; }
  bool Contains(uintptr_t address) const {
    return base_ != nullptr && address >= reinterpret_cast<uintptr_t>(base_) &&
           address - reinterpret_cast<uintptr_t>(base_) < kReservedBytes;
  }

  // Makes [0, bytes) readable and writable and everything above inaccessible.
  // Pages that stay committed keep their contents. False if the kernel refuses.
  bool CommitTo(uint64_t bytes);
  // Gives the committed pages back to the kernel; they read as zero when
  // next touched. Only pages the last instance touched cost anything.
  void DropPages();

 private:
  uint8_t* base_ = nullptr;
  uint64_t committed_ = 0;
};

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_WASM_WINDOW_RESERVATION_H_
