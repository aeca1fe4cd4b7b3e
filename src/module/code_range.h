// Where a loaded shared object's code lies: the span of its executable
// segments. Header-only: used by the host (wasm modules) and the worker
// program (native modules).
#ifndef RINGFENCE_SRC_MODULE_CODE_RANGE_H_
#define RINGFENCE_SRC_MODULE_CODE_RANGE_H_

#include <link.h>

#include <algorithm>
#include <cstdint>

namespace ringfence::internal {

struct CodeRange {
  uintptr_t begin = UINTPTR_MAX;
  uintptr_t end = 0;  // begin >= end: no executable segment found
};

// The executable range of the object loaded at `load_address` (its link
// map's l_addr).
inline CodeRange ExecutableRange(uintptr_t load_address) {
  struct Query {
    uintptr_t load_address;
    CodeRange range;
  } query{load_address, {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* query = static_cast<Query*>(data);
        if (info->dlpi_addr != query->load_address) return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& header = info->dlpi_phdr[i];
          if (header.p_type != PT_LOAD || (header.p_flags & PF_X) == 0) continue;
          uintptr_t start = info->dlpi_addr + header.p_vaddr;
          query->range.begin = std::min(query->range.begin, start);
          query->range.end = std::max(query->range.end, start + header.p_memsz);
        }
        return 1;
      },
      &query);
  return query.range;
}

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_MODULE_CODE_RANGE_H_
