// Journal: the state-setting calls a module has served, to be replayed, in
// order, into each fresh instance before it serves anything else.
//
// Growth is bounded: an entry replaces the earlier one with the same key
// (last write wins; the entry moves to the end, so replay keeps the order of
// the last writes), Clear() empties it, and past `limit` entries a call
// with a new key is refused before it runs.
// Not thread-safe: its SupervisedModule guards it.
#ifndef RINGFENCE_SRC_SUPERVISOR_JOURNAL_H_
#define RINGFENCE_SRC_SUPERVISOR_JOURNAL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace ringfence::internal {

class Journal {
 public:
  struct Entry {
    uint32_t export_index = 0;
    std::optional<uint64_t> key;  // nullopt: the export itself is the key
    std::vector<uint64_t> args;   // argument slots
  };

  explicit Journal(size_t limit) : limit_(limit) {}

  // Whether Record(export_index, key, ...) would succeed.
  bool HasRoomFor(uint32_t export_index, std::optional<uint64_t> key) const;
  // Records a call that succeeded. False (nothing recorded) if the journal
  // is full and the key is new.
  bool Record(uint32_t export_index, std::optional<uint64_t> key, std::span<const uint64_t> args);
  void Clear() { entries_.clear(); }

  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry>::const_iterator Find(uint32_t export_index, std::optional<uint64_t> key) const;

  size_t limit_;
  std::vector<Entry> entries_;  // replay order
};

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_SUPERVISOR_JOURNAL_H_
