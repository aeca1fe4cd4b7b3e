#include "src/services/handle_table.h"

#include <algorithm>

#include "ringfence/module.h"

namespace ringfence::internal {
namespace {

// handle = generation << kSlotBits | slot; generations start at 1 and wrap
// within 19 bits, so a handle is never 0 and never negative.
constexpr uint32_t kSlotBits = 12;
constexpr uint32_t kGenerationMask = (1u << 19) - 1;
static_assert(HandleTable::kMaxHandles <= (1u << kSlotBits));

}  // namespace

int32_t HandleTable::Open(std::shared_ptr<HandleObject> object) {
  uint32_t index;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
  } else if (slots_.size() < kMaxHandles) {
    index = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    return RF_ETOOMANY;
  }
  Slot& slot = slots_[index];
  slot.generation = (slot.generation % kGenerationMask) + 1;
  slot.object = std::move(object);
  slot.opened = next_opened_++;
  ++open_count_;
  return static_cast<int32_t>(slot.generation << kSlotBits | index);
}

int32_t HandleTable::SlotOf(int32_t handle) const {
  if (handle <= 0) return -1;
  uint32_t index = static_cast<uint32_t>(handle) & ((1u << kSlotBits) - 1);
  uint32_t generation = static_cast<uint32_t>(handle) >> kSlotBits;
  if (index >= slots_.size()) return -1;
  const Slot& slot = slots_[index];
  if (slot.object == nullptr || slot.generation != generation) return -1;
  return static_cast<int32_t>(index);
}

HandleObject* HandleTable::Get(int32_t handle) const {
  int32_t index = SlotOf(handle);
  return index < 0 ? nullptr : slots_[static_cast<size_t>(index)].object.get();
}

HandleObject* HandleTable::Get(int32_t handle, HandleObject::Kind kind) const {
  HandleObject* object = Get(handle);
  return object != nullptr && object->handle_kind() == kind ? object : nullptr;
}

int32_t HandleTable::Close(int32_t handle) {
  int32_t index = SlotOf(handle);
  if (index < 0) return RF_EBADHANDLE;
  slots_[static_cast<size_t>(index)].object.reset();
  free_slots_.push_back(static_cast<uint32_t>(index));
  --open_count_;
  return RF_OK;
}

void HandleTable::ReleaseAll(uint32_t owner_id) {
  std::vector<Slot*> open;
  for (Slot& slot : slots_) {
    if (slot.object != nullptr) open.push_back(&slot);
  }
  std::sort(open.begin(), open.end(), [](const Slot* a, const Slot* b) { return a->opened > b->opened; });
  for (Slot* slot : open) {
    slot->object->ReleaseFromDeadHolder(owner_id);
    slot->object.reset();
  }
  // Generations stay, so handles of the dead instance remain stale.
  free_slots_.clear();
  for (uint32_t i = static_cast<uint32_t>(slots_.size()); i > 0; --i) free_slots_.push_back(i - 1);
  open_count_ = 0;
}

}  // namespace ringfence::internal
