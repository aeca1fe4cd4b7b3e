// Shared objects for the tests of what may be loaded as a process-backend
// module's code (src/module/native_code_check.h): turning a good one into
// one the check must refuse.
#ifndef RINGFENCE_TESTS_NATIVE_CODE_SAMPLES_H_
#define RINGFENCE_TESTS_NATIVE_CODE_SAMPLES_H_

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace ringfence::testing {

// The file offsets of the dynamic entry with `tag` (if `value_at` is false)
// or of what its value points at, found the way the loader finds them
// (program headers, then the dynamic section). Assumes a well-formed
// object: only for the tests' own builds.
inline std::optional<size_t> DynamicOffset(const std::vector<uint8_t>& elf, int64_t tag,
                                           bool value_at) {
  Elf64_Ehdr header;
  std::memcpy(&header, elf.data(), sizeof header);
  std::vector<Elf64_Phdr> segments(header.e_phnum);
  std::memcpy(segments.data(), elf.data() + header.e_phoff, header.e_phnum * sizeof(Elf64_Phdr));
  auto file_offset = [&](uint64_t vaddr) -> std::optional<size_t> {
    for (const Elf64_Phdr& load : segments) {
      if (load.p_type == PT_LOAD && vaddr >= load.p_vaddr &&
          vaddr < load.p_vaddr + load.p_filesz) {
        return load.p_offset + (vaddr - load.p_vaddr);
      }
    }
    return std::nullopt;
  };
  for (const Elf64_Phdr& segment : segments) {
    if (segment.p_type != PT_DYNAMIC) continue;
    std::optional<size_t> dynamic = file_offset(segment.p_vaddr);
    if (!dynamic) return std::nullopt;
    for (size_t at = *dynamic; at + sizeof(Elf64_Dyn) <= elf.size(); at += sizeof(Elf64_Dyn)) {
      Elf64_Dyn entry;
      std::memcpy(&entry, elf.data() + at, sizeof entry);
      if (entry.d_tag == DT_NULL) break;
      if (entry.d_tag == tag) return value_at ? file_offset(entry.d_un.d_ptr) : at;
    }
  }
  return std::nullopt;
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
