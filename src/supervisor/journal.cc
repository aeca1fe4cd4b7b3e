#include "src/supervisor/journal.h"

#include <algorithm>

namespace ringfence::internal {

std::vector<Journal::Entry>::const_iterator Journal::Find(uint32_t export_index,
                                                          std::optional<uint64_t> key) const {
  return std::find_if(entries_.begin(), entries_.end(), [&](const Entry& entry) {
    return entry.export_index == export_index && entry.key == key;
  });
}

bool Journal::HasRoomFor(uint32_t export_index, std::optional<uint64_t> key) const {
  return entries_.size() < limit_ || Find(export_index, key) != entries_.end();
}

bool Journal::Record(uint32_t export_index, std::optional<uint64_t> key,
                     std::span<const uint64_t> args) {
  auto found = Find(export_index, key);
  if (found != entries_.end()) {
    entries_.erase(found);
  } else if (entries_.size() >= limit_) {
    return false;
  }
  entries_.push_back({export_index, key, std::vector<uint64_t>(args.begin(), args.end())});
  return true;
}

}  // namespace ringfence::internal
