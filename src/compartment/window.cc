#include "ringfence/window.h"

#include <cstring>

#include <fmt/format.h>

#include "ringfence/compartment.h"
#include "src/compartment/compartment_impl.h"

namespace ringfence {
namespace {

// Host pointer to [offset, offset + length) of the memory, or an error.
StatusOr<uint8_t*> Range(const Compartment& compartment, uint64_t offset, uint64_t length) {
  const wasm_rt_memory_t* memory = internal::ImplOf(compartment).memory();
  uint64_t size = memory != nullptr ? memory->size : 0;
  if (offset > size || length > size - offset) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("range [{:#x}, +{}) is outside the memory of {} ({} bytes)", offset,
                              length, compartment.module().name(), size));
  }
  return memory->data + offset;
}

}  // namespace

uint64_t Window::size() const {
  const wasm_rt_memory_t* memory = internal::ImplOf(*compartment_).memory();
  return memory != nullptr ? memory->size : 0;
}

Status Window::CopyIn(uint64_t offset, std::span<const uint8_t> bytes) {
  StatusOr<uint8_t*> target = Range(*compartment_, offset, bytes.size());
  if (!target.ok()) return target.status();
  if (!bytes.empty()) std::memcpy(*target, bytes.data(), bytes.size());
  return Status::Ok();
}

Status Window::CopyOut(uint64_t offset, std::span<uint8_t> dest) const {
  StatusOr<uint8_t*> source = Range(*compartment_, offset, dest.size());
  if (!source.ok()) return source.status();
  if (!dest.empty()) std::memcpy(dest.data(), *source, dest.size());
  return Status::Ok();
}

StatusOr<std::vector<uint8_t>> Window::CopyOut(uint64_t offset, uint64_t length) const {
  StatusOr<uint8_t*> source = Range(*compartment_, offset, length);
  if (!source.ok()) return source.status();
  return std::vector<uint8_t>(*source, *source + length);
}

StatusOr<std::string> Window::CopyOutString(uint64_t offset, uint64_t length) const {
  StatusOr<uint8_t*> source = Range(*compartment_, offset, length);
  if (!source.ok()) return source.status();
  return std::string(reinterpret_cast<const char*>(*source), length);
}

}  // namespace ringfence
