#include "src/toolchain/elf_functions.h"

#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <map>

#include "src/toolchain/elf_reader.h"

namespace ringfence::internal {
StatusOr<std::vector<NativeFunction>> ReadElfFunctions(const std::string& path) {
  StatusOr<std::unique_ptr<ElfReader>> reader = ElfReader::Open(path);
  if (!reader.ok()) return reader.status();
  Elf* elf = (*reader)->elf();

  Elf_Scn* table = nullptr;
  GElf_Shdr table_header{};
  for (Elf_Scn* section = elf_nextscn(elf, nullptr); section != nullptr;
       section = elf_nextscn(elf, section)) {
    GElf_Shdr header;
    if (gelf_getshdr(section, &header) == nullptr) return (*reader)->Error("bad section header");
    if (header.sh_type == SHT_SYMTAB || (header.sh_type == SHT_DYNSYM && table == nullptr)) {
      table = section;
      table_header = header;
    }
  }
  // offset -> (name, global?)
  std::map<uint64_t, std::pair<std::string, bool>> by_offset;
  if (table != nullptr && table_header.sh_entsize != 0) {
    Elf_Data* data = elf_getdata(table, nullptr);
    if (data == nullptr) return (*reader)->Error("unreadable symbol table");
    size_t count = table_header.sh_size / table_header.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym symbol;
      if (gelf_getsym(data, static_cast<int>(i), &symbol) == nullptr) continue;
      if (GELF_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_shndx == SHN_UNDEF) continue;
      const char* name = elf_strptr(elf, table_header.sh_link, symbol.st_name);
      if (name == nullptr || *name == '\0') continue;
      bool global = GELF_ST_BIND(symbol.st_info) != STB_LOCAL;
      auto [entry, inserted] = by_offset.try_emplace(symbol.st_value, name, global);
      if (!inserted && global && !entry->second.second) entry->second = {name, global};
    }
  }
  std::vector<NativeFunction> functions;
  functions.reserve(by_offset.size());
  for (auto& [offset, name] : by_offset) functions.push_back({offset, std::move(name.first)});
  return functions;
}

}  // namespace ringfence::internal
