#include "ringfence/compartment_pool.h"

#include <functional>

#include <fmt/format.h>

#include "src/compartment/compartment_impl.h"

namespace ringfence {

StatusOr<std::unique_ptr<CompartmentPool>> CompartmentPool::Create(
    std::shared_ptr<const Module> module, size_t size, CompartmentOptions options) {
  if (size == 0 || size > 1024) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("a pool holds 1 to 1024 compartments, not {}", size));
  }
  std::vector<std::unique_ptr<Compartment>> compartments;
  for (size_t i = 0; i < size; ++i) {
    StatusOr<std::unique_ptr<Compartment>> compartment = Compartment::Create(module, options);
    if (!compartment.ok()) return compartment.status();
    compartments.push_back(std::move(*compartment));
  }
  return std::unique_ptr<CompartmentPool>(new CompartmentPool(std::move(compartments)));
}

Compartment& CompartmentPool::Pick() {
  const void* self = &internal::t_thread_gate;
  size_t count = compartments_.size();
  // Threads spread over home compartments by the address of their gate state.
  size_t home = std::hash<const void*>()(self) / alignof(std::max_align_t) % count;
  for (size_t i = 0; i < count; ++i) {
    Compartment& candidate = *compartments_[(home + i) % count];
    if (internal::ImplOf(candidate).fast_owner() == self) return candidate;
  }
  for (size_t i = 0; i < count; ++i) {
    Compartment& candidate = *compartments_[(home + i) % count];
    if (internal::ImplOf(candidate).IdleFor(self)) return candidate;
  }
  return *compartments_[home];
}

}  // namespace ringfence
