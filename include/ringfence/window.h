// Window: checked access to a compartment's memory from the host.
//
// Module pointers are 32-bit offsets into the module's window. The host never
// turns one into a host pointer unchecked: every (offset, length) is checked
// against the memory's current size and data is copied, so a module cannot
// change it after the check (no double fetch). What is read is Tainted until
// the host has validated it.
//
// A Window is a view of one compartment; valid while that compartment lives.
// Not thread-safe: use it from the thread that calls the compartment.
#ifndef RINGFENCE_WINDOW_H_
#define RINGFENCE_WINDOW_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "ringfence/status.h"

namespace ringfence {

class Compartment;

// A value that came from a window and has not been validated yet.
template <typename T>
class Tainted {
 public:
  explicit Tainted(T value) : value_(value) {}
  // The raw value, for code that checks it itself.
  T UncheckedValue() const { return value_; }
  // The value if `valid(value)` holds.
  template <typename Predicate>
  std::optional<T> Verify(Predicate valid) const {
    if (valid(value_)) return value_;
    return std::nullopt;
  }

 private:
  T value_;
};

class Window {
 public:
  explicit Window(Compartment* compartment) : compartment_(compartment) {}

  // Current size of the module's memory in bytes (0 if it has none or the
  // compartment is dead).
  uint64_t size() const;

  // Copies `bytes` to [offset, offset + size) of the window. kInvalidArgument
  // if that range is not inside the memory; nothing is written then.
  Status CopyIn(uint64_t offset, std::span<const uint8_t> bytes);
  Status CopyIn(uint64_t offset, std::string_view text) {
    return CopyIn(offset, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  // Copies [offset, offset + dest.size()) out of the window.
  Status CopyOut(uint64_t offset, std::span<uint8_t> dest) const;
  StatusOr<std::vector<uint8_t>> CopyOut(uint64_t offset, uint64_t length) const;
  StatusOr<std::string> CopyOutString(uint64_t offset, uint64_t length) const;

  template <typename T>
  StatusOr<Tainted<T>> Read(uint64_t offset) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    Status status = CopyOut(offset, std::span(reinterpret_cast<uint8_t*>(&value), sizeof(T)));
    if (!status.ok()) return status;
    return Tainted<T>(value);
  }
  template <typename T>
  Status Write(uint64_t offset, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    return CopyIn(offset, std::span(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
  }

 private:
  Compartment* compartment_;
};

}  // namespace ringfence

#endif  // RINGFENCE_WINDOW_H_
