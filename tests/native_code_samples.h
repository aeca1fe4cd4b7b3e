// Shared objects for the tests of what may be loaded as a process-backend
// module's code (src/module/native_code_check.h): turning a good one into
// one the check must refuse.
#ifndef RINGFENCE_TESTS_NATIVE_CODE_SAMPLES_H_
#define RINGFENCE_TESTS_NATIVE_CODE_SAMPLES_H_

#include <elf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace ringfence::testing {

template <typename T>
T ReadAt(const std::vector<uint8_t>& elf, size_t offset) {
  T value;
  std::memcpy(&value, elf.data() + offset, sizeof value);
  return value;
}

template <typename T>
void WriteAt(std::vector<uint8_t>& elf, size_t offset, const T& value) {
  std::memcpy(elf.data() + offset, &value, sizeof value);
}

// The object's program headers (assumes a well-formed object: only for the
// tests' own builds, like everything here).
inline std::vector<Elf64_Phdr> ProgramHeaders(const std::vector<uint8_t>& elf) {
  auto header = ReadAt<Elf64_Ehdr>(elf, 0);
  std::vector<Elf64_Phdr> segments(header.e_phnum);
  std::memcpy(segments.data(), elf.data() + header.e_phoff, header.e_phnum * sizeof(Elf64_Phdr));
  return segments;
}

// `elf` with program header `index` replaced by `segment`.
inline std::vector<uint8_t> WithProgramHeader(std::vector<uint8_t> elf, size_t index,
                                              const Elf64_Phdr& segment) {
  auto header = ReadAt<Elf64_Ehdr>(elf, 0);
  WriteAt(elf, header.e_phoff + index * sizeof(Elf64_Phdr), segment);
  return elf;
}

// The file offset of what the loader finds at `vaddr`: inside a PT_LOAD's
// file bytes.
inline std::optional<size_t> FileOffsetOf(const std::vector<uint8_t>& elf, uint64_t vaddr) {
  for (const Elf64_Phdr& load : ProgramHeaders(elf)) {
    if (load.p_type == PT_LOAD && vaddr >= load.p_vaddr && vaddr < load.p_vaddr + load.p_filesz) {
      return load.p_offset + (vaddr - load.p_vaddr);
    }
  }
  return std::nullopt;
}

// The index of the first program header of `type` (-1 if none).
inline int SegmentOfType(const std::vector<uint8_t>& elf, uint32_t type) {
  std::vector<Elf64_Phdr> segments = ProgramHeaders(elf);
  for (size_t i = 0; i < segments.size(); ++i) {
    if (segments[i].p_type == type) return static_cast<int>(i);
  }
  return -1;
}

// The index of the PT_LOAD that holds `vaddr` (-1 if none).
inline int LoadHolding(const std::vector<uint8_t>& elf, uint64_t vaddr) {
  std::vector<Elf64_Phdr> segments = ProgramHeaders(elf);
  for (size_t i = 0; i < segments.size(); ++i) {
    const Elf64_Phdr& load = segments[i];
    if (load.p_type == PT_LOAD && vaddr >= load.p_vaddr && vaddr < load.p_vaddr + load.p_memsz) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// Where the dynamic entry with `tag` is, the way the loader finds it
// (program headers, then the dynamic section): its file offset, and the
// address of its value relative to the load address.
struct DynamicEntry {
  size_t offset;
  uint64_t value_vaddr;
};
inline std::optional<DynamicEntry> FindDynamicEntry(const std::vector<uint8_t>& elf, int64_t tag) {
  int index = SegmentOfType(elf, PT_DYNAMIC);
  if (index < 0) return std::nullopt;
  Elf64_Phdr segment = ProgramHeaders(elf)[index];
  std::optional<size_t> dynamic = FileOffsetOf(elf, segment.p_vaddr);
  if (!dynamic) return std::nullopt;
  for (size_t at = *dynamic; at + sizeof(Elf64_Dyn) <= elf.size(); at += sizeof(Elf64_Dyn)) {
    auto entry = ReadAt<Elf64_Dyn>(elf, at);
    if (entry.d_tag == DT_NULL) break;
    if (entry.d_tag == tag) {
      return DynamicEntry{at, segment.p_vaddr + (at - *dynamic) + offsetof(Elf64_Dyn, d_un)};
    }
  }
  return std::nullopt;
}

// The file offsets of the dynamic entry with `tag` (if `value_at` is false)
// or of what its value points at.
inline std::optional<size_t> DynamicOffset(const std::vector<uint8_t>& elf, int64_t tag,
                                           bool value_at) {
  std::optional<DynamicEntry> entry = FindDynamicEntry(elf, tag);
  if (!entry) return std::nullopt;
  if (!value_at) return entry->offset;
  return FileOffsetOf(elf, ReadAt<Elf64_Dyn>(elf, entry->offset).d_un.d_ptr);
}

// The value of the dynamic entry with `tag` (nullopt if none).
inline std::optional<uint64_t> DynamicValue(const std::vector<uint8_t>& elf, int64_t tag) {
  std::optional<size_t> at = DynamicOffset(elf, tag, /*value_at=*/false);
  if (!at) return std::nullopt;
  return ReadAt<Elf64_Dyn>(elf, *at).d_un.d_val;
}

// The file offset of the first entry of the object's DT_RELA table.
inline std::optional<size_t> FirstRelocationOffset(const std::vector<uint8_t>& elf) {
  return DynamicOffset(elf, DT_RELA, /*value_at=*/true);
}

// `elf` with the value of its dynamic entry `tag` replaced (empty if none).
inline std::vector<uint8_t> WithDynamicValue(std::vector<uint8_t> elf, int64_t tag,
                                             uint64_t value) {
  std::optional<size_t> at = DynamicOffset(elf, tag, /*value_at=*/false);
  if (!at) return {};
  Elf64_Dyn entry;
  std::memcpy(&entry, elf.data() + *at, sizeof entry);
  entry.d_un.d_val = value;
  std::memcpy(elf.data() + *at, &entry, sizeof entry);
  return elf;
}

// `elf` with its first relocation aimed at `target` (an address relative
// to where the object is loaded): a write the loader would make there.
inline std::vector<uint8_t> WithFirstRelocationAt(std::vector<uint8_t> elf, uint64_t target) {
  std::optional<size_t> at = FirstRelocationOffset(elf);
  if (!at) return {};
  Elf64_Rela relocation;
  std::memcpy(&relocation, elf.data() + *at, sizeof relocation);
  relocation.r_offset = target;
  std::memcpy(elf.data() + *at, &relocation, sizeof relocation);
  return elf;
}

}  // namespace ringfence::testing

#endif  // RINGFENCE_TESTS_NATIVE_CODE_SAMPLES_H_
