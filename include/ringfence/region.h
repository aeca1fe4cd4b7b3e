// Region: shared memory the host maps into compartments' windows.
//
//   auto region = Region::Create(1 << 20).value();
//   compartment->MapRegion("frames", region, uint64_t{1} << 30);
//   // The module: int32_t h = rf_region_open("frames", 6);
//   //             uint8_t* p = (uint8_t*)rf_region_offset(h);
//
// A region is anonymous shared memory (a memfd) of a multiple of 64 KiB. The
// host sees it through bytes(); each compartment it is mapped into sees the
// same pages at the offset given to Compartment::MapRegion, so what one side
// writes the others see at once. Writes stay: a module's restart resets its
// own memory but not the regions mapped into its window.
//
// Untrusted contents: modules write a region while the host may be reading
// it, and a module that trapped may have left it half-written. Copy what you
// need out of bytes() before validating it (a module can change it between
// your check and your use), and never use a length or offset read from it
// without checking it against size(). Guard shared data with a Lock (a lock
// whose holder dies passes on marked owner died).
//
// Module side: ordinary C loads and stores at the offset work: on x86-64,
// wasm2c code relies on guard pages rather than bounds checks, so it reaches
// the whole window, and an access to an unmapped part traps. wasm
// bulk-memory instructions (memory.copy, memory.fill, which clang may emit
// for memcpy/memset with -mbulk-memory) check against the module's own
// memory size and trap on region addresses: copy with loops.
// rf_region_offset and rf_region_size return the value's uint32 bits as an
// int32: a region at or above 2 GiB has a "negative" offset; only -10..-1
// are errors, and no offset or size (multiples of 64 KiB) is one of those.
//
// Ownership: shared. Each compartment a region is mapped into holds a
// reference until it is destroyed, so a region outlives the compartments it
// is mapped into and the host may keep using it after they are gone. Its
// memory and file descriptor are released when the last owner drops it.
//
// Thread-safety: Create, bytes() and size() are safe from any thread; the
// contents are plain shared memory, synchronised by whoever uses them.
// Compartment::MapRegion changes the compartment's table of provided objects:
// call it only while no thread is inside that compartment (e.g. right after
// Create, before handing the compartment to other threads).
#ifndef RINGFENCE_REGION_H_
#define RINGFENCE_REGION_H_

#include <cstdint>
#include <memory>
#include <span>

#include "ringfence/status.h"

namespace ringfence {

class Region {
 public:
  // Sizes are multiples of this (the wasm page size).
  static constexpr uint64_t kGranuleBytes = 65536;
  // Largest region: it lies inside a module's 4 GiB of addressable window,
  // and its size must fit the 32 bits rf_region_size returns.
  static constexpr uint64_t kMaxBytes = (uint64_t{4} << 30) - kGranuleBytes;

  // A new zero-filled region of `size_bytes` rounded up to 64 KiB. Errors:
  // kInvalidArgument (0, or more than kMaxBytes), kResourceExhausted (the
  // kernel refused memory, a file descriptor or address space; the message
  // says which).
  static StatusOr<std::shared_ptr<Region>> Create(uint64_t size_bytes);

  ~Region();
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  // The host's view of the whole region. Valid while this Region lives.
  // Written by untrusted modules: see "Untrusted contents" above.
  std::span<uint8_t> bytes() const { return {host_view_, size_}; }
  // Size in bytes, a multiple of kGranuleBytes.
  uint64_t size() const { return size_; }

  // Internal (Compartment::MapRegion): maps the region readable and
  // writable at `address`, replacing whatever was mapped in
  // [address, address + size()). `address` must be page-aligned and the range
  // owned by the caller (inside a compartment's window). kResourceExhausted
  // if the kernel refuses.
  Status MapAt(uint8_t* address) const;
  // Internal (process backend): the memfd, which worker processes map.
  int fd() const { return fd_; }

 private:
  Region(int fd, uint8_t* host_view, uint64_t size)
      : fd_(fd), host_view_(host_view), size_(size) {}

  int fd_;               // the memfd; owned
  uint8_t* host_view_;   // the host's MAP_SHARED mapping; owned
  uint64_t size_;
};

}  // namespace ringfence

#endif  // RINGFENCE_REGION_H_
