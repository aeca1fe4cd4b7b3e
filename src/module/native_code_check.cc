#include "src/module/native_code_check.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringfence::internal {
namespace {

constexpr uint64_t kPageBytes = 4096;

// The libraries a module may depend on: the worker has every one of them
// loaded before it loads a module, so naming them makes the loader open no
// file and run no initialiser of theirs.
constexpr std::string_view kAllowedLibraries[] = {
    "libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2",
};

// Dynamic tags the loader only reads (tables, sizes, names, flags). Every
// other tag is refused, those that run code or change where or how the
// loader looks for code in particular.
bool IsAllowedTag(int64_t tag) {
  switch (tag) {
    case DT_NULL: case DT_NEEDED: case DT_PLTRELSZ: case DT_PLTGOT: case DT_HASH:
    case DT_STRTAB: case DT_SYMTAB: case DT_RELA: case DT_RELASZ: case DT_RELAENT:
    case DT_STRSZ: case DT_SYMENT: case DT_SONAME: case DT_SYMBOLIC: case DT_PLTREL:
    case DT_DEBUG: case DT_JMPREL: case DT_BIND_NOW: case DT_FLAGS: case DT_GNU_HASH:
    case DT_VERSYM: case DT_RELACOUNT: case DT_FLAGS_1: case DT_VERDEF: case DT_VERDEFNUM:
    case DT_VERNEED: case DT_VERNEEDNUM:
      return true;
    default:
      return false;
  }
}

std::string TagName(int64_t tag) {
  switch (tag) {
    case DT_INIT: return "DT_INIT (an initialiser the loader runs)";
    case DT_FINI: return "DT_FINI (a finaliser)";
    case DT_INIT_ARRAY: case DT_INIT_ARRAYSZ:
      return "DT_INIT_ARRAY (constructors the loader runs, e.g. from a section .init_array.N)";
    case DT_FINI_ARRAY: case DT_FINI_ARRAYSZ: return "DT_FINI_ARRAY (destructors the loader runs)";
    case DT_PREINIT_ARRAY: case DT_PREINIT_ARRAYSZ: return "DT_PREINIT_ARRAY (pre-initialisers)";
    case DT_TEXTREL: return "DT_TEXTREL (relocations in its code)";
    case DT_AUDIT: return "DT_AUDIT (an audit library)";
    case DT_DEPAUDIT: return "DT_DEPAUDIT (an audit library)";
    case DT_FILTER: return "DT_FILTER (a filter library)";
    case DT_AUXILIARY: return "DT_AUXILIARY (a filter library)";
    case DT_RPATH: return "DT_RPATH (a library search path)";
    case DT_RUNPATH: return "DT_RUNPATH (a library search path)";
    case DT_REL: case DT_RELSZ: case DT_RELENT: return "DT_REL (REL relocations)";
  }
  return "dynamic tag " + std::to_string(tag);
}

// The relocation types a module's loading may perform: data words (absolute,
// relative, GOT and PLT slots) and the TLS words of its own variables.
bool IsAllowedRelocation(uint32_t type) {
  switch (type) {
    case R_X86_64_NONE: case R_X86_64_64: case R_X86_64_GLOB_DAT: case R_X86_64_JUMP_SLOT:
    case R_X86_64_RELATIVE: case R_X86_64_DTPMOD64: case R_X86_64_DTPOFF64:
    case R_X86_64_TPOFF64:
      return true;
    default:
      return false;
  }
}

bool IsAllowedSegment(uint32_t type) {
  switch (type) {
    case PT_NULL: case PT_LOAD: case PT_DYNAMIC: case PT_NOTE: case PT_PHDR: case PT_TLS:
    case PT_GNU_EH_FRAME: case PT_GNU_STACK: case PT_GNU_RELRO: case PT_GNU_PROPERTY:
      return true;
    default:
      return false;
  }
}

Status Refuse(std::string what) {
  return Status(StatusCode::kNotAModule, "its native code " + std::move(what));
}

// `count` objects of `size` bytes at `offset` lie inside `limit` bytes.
bool Fits(uint64_t offset, uint64_t count, uint64_t size, uint64_t limit) {
  if (size != 0 && count > limit / size) return false;
  return offset <= limit && count * size <= limit - offset;
}

class Checker {
 public:
  explicit Checker(std::span<const uint8_t> code) : code_(code) {}

  Status Run() {
    if (Status s = ReadHeader(); !s.ok()) return s;
    if (Status s = ReadSegments(); !s.ok()) return s;
    if (Status s = ReadDynamic(); !s.ok()) return s;
    if (Status s = CheckSymbols(); !s.ok()) return s;
    if (Status s = CheckVersions(); !s.ok()) return s;
    if (Status s = CheckVersionIndices(); !s.ok()) return s;
    if (Status s = CheckRelocations(rela_, rela_size_, "DT_RELA"); !s.ok()) return s;
    return CheckRelocations(jmprel_, jmprel_size_, "DT_JMPREL");
  }

 private:
  template <typename T>
  T At(uint64_t offset) const {
    T value;
    std::memcpy(&value, code_.data() + offset, sizeof value);
    return value;
  }

  Status ReadHeader() {
    if (code_.size() < sizeof(Elf64_Ehdr)) return Refuse("is too short for an ELF header");
    header_ = At<Elf64_Ehdr>(0);
    if (std::memcmp(header_.e_ident, ELFMAG, SELFMAG) != 0) return Refuse("is not ELF");
    if (header_.e_ident[EI_CLASS] != ELFCLASS64 || header_.e_ident[EI_DATA] != ELFDATA2LSB ||
        header_.e_machine != EM_X86_64) {
      return Refuse("is not 64-bit little-endian x86-64 ELF");
    }
    if (header_.e_type != ET_DYN) return Refuse("is not a shared object (ET_DYN)");
    if (header_.e_phentsize != sizeof(Elf64_Phdr) || header_.e_phnum == 0 ||
        header_.e_phnum == PN_XNUM ||
        !Fits(header_.e_phoff, header_.e_phnum, sizeof(Elf64_Phdr), code_.size())) {
      return Refuse("has no valid program header table");
    }
    return Status::Ok();
  }

  Status ReadSegments() {
    bool stack_seen = false;
    std::optional<Elf64_Phdr> dynamic;
    for (uint16_t i = 0; i < header_.e_phnum; ++i) {
      auto segment = At<Elf64_Phdr>(header_.e_phoff + uint64_t{i} * sizeof(Elf64_Phdr));
      if (!IsAllowedSegment(segment.p_type)) {
        return Refuse("has a program header of type " + std::to_string(segment.p_type) +
                      " (e.g. PT_INTERP), which a module has no use for");
      }
      if (segment.p_type == PT_GNU_STACK) {
        if ((segment.p_flags & PF_X) != 0) return Refuse("asks for an executable stack");
        stack_seen = true;
      }
      if (segment.p_type == PT_DYNAMIC) {
        if (dynamic) return Refuse("has two PT_DYNAMIC segments");
        dynamic = segment;
      }
      if (segment.p_type == PT_GNU_RELRO) relros_.push_back(segment);
      if (segment.p_type == PT_TLS) tls_.push_back(segment);
      if (segment.p_type != PT_LOAD) continue;
      if ((segment.p_flags & PF_W) != 0 && (segment.p_flags & PF_X) != 0) {
        return Refuse("has a segment both writable and executable");
      }
      if (segment.p_filesz > segment.p_memsz ||
          !Fits(segment.p_offset, 1, segment.p_filesz, code_.size()) ||
          segment.p_vaddr > UINT64_MAX - segment.p_memsz ||
          segment.p_vaddr % kPageBytes != segment.p_offset % kPageBytes) {
        return Refuse("has a PT_LOAD segment outside its file or misaligned");
      }
      // In address order and on pages of their own, so each address has
      // exactly one segment's bytes: what is read here is what is mapped.
      if (!loads_.empty()) {
        const Elf64_Phdr& last = loads_.back();
        uint64_t last_end = last.p_vaddr + last.p_memsz;
        if ((segment.p_vaddr & ~(kPageBytes - 1)) <
            ((last_end + kPageBytes - 1) & ~(kPageBytes - 1))) {
          return Refuse("has PT_LOAD segments that overlap or are out of order");
        }
      }
      loads_.push_back(segment);
    }
    if (loads_.empty()) return Refuse("has no PT_LOAD segment");
    if (!stack_seen) return Refuse("has no PT_GNU_STACK (the loader would make stacks executable)");
    if (!dynamic) return Refuse("has no PT_DYNAMIC segment");
    std::optional<uint64_t> offset = FileOffset(dynamic->p_vaddr, dynamic->p_filesz);
    if (!offset || dynamic->p_filesz % sizeof(Elf64_Dyn) != 0) {
      return Refuse("has a PT_DYNAMIC segment outside its loaded bytes");
    }
    dynamic_offset_ = *offset;
    dynamic_count_ = dynamic->p_filesz / sizeof(Elf64_Dyn);
    dynamic_vaddr_ = dynamic->p_vaddr;
    dynamic_size_ = std::max(dynamic->p_filesz, dynamic->p_memsz);
    if (Status s = CheckRelro(); !s.ok()) return s;
    return CheckTls();
  }

  // The loader mprotects the pages of PT_GNU_RELRO read-only once it has
  // relocated, before the worker's lockdown: a RELRO reaching past the
  // object would take away access to the worker's or libc's pages. Inside a
  // writable PT_LOAD it only protects what the object's relocations wrote
  // (PT_LOAD segments have pages of their own, so rounding stays inside).
  Status CheckRelro() const {
    for (const Elf64_Phdr& relro : relros_) {
      if (!Writable(relro.p_vaddr, relro.p_memsz)) {
        return Refuse("has a PT_GNU_RELRO outside its writable segments");
      }
    }
    return Status::Ok();
  }

  // The loader copies PT_TLS's p_filesz bytes at p_vaddr into every
  // thread's block: they must be the object's own loaded bytes.
  Status CheckTls() const {
    for (const Elf64_Phdr& tls : tls_) {
      if (tls.p_filesz > tls.p_memsz || !FileOffset(tls.p_vaddr, tls.p_filesz)) {
        return Refuse("has a PT_TLS image outside its loaded bytes");
      }
    }
    return Status::Ok();
  }

  // Where the `size` bytes the loader finds at `vaddr` (relative to the load
  // address) come from in the file: inside one PT_LOAD's file bytes.
  std::optional<uint64_t> FileOffset(uint64_t vaddr, uint64_t size) const {
    for (const Elf64_Phdr& load : loads_) {
      if (vaddr < load.p_vaddr) continue;
      uint64_t into = vaddr - load.p_vaddr;
      if (into <= load.p_filesz && size <= load.p_filesz - into) return load.p_offset + into;
    }
    return std::nullopt;
  }

  // Where a table the loader reads while it relocates comes from in the
  // file: inside a PT_LOAD that is not writable. glibc reads relocations,
  // symbols, hashes and versions from the mapped object as it goes, so a
  // table in a writable segment could be rewritten by an earlier
  // relocation into one this check never saw (an R_X86_64_IRELATIVE, an
  // IFUNC symbol). Relocations only write inside writable segments, and
  // segments never share a page, so these tables stay as checked.
  std::optional<uint64_t> ReadOnlyOffset(uint64_t vaddr, uint64_t size) const {
    for (const Elf64_Phdr& load : loads_) {
      if ((load.p_flags & PF_W) != 0 || vaddr < load.p_vaddr) continue;
      uint64_t into = vaddr - load.p_vaddr;
      if (into <= load.p_filesz && size <= load.p_filesz - into) return load.p_offset + into;
    }
    return std::nullopt;
  }

  // The loader writes `size` bytes at `vaddr`: inside a writable segment.
  bool Writable(uint64_t vaddr, uint64_t size) const {
    for (const Elf64_Phdr& load : loads_) {
      if ((load.p_flags & PF_W) == 0 || vaddr < load.p_vaddr) continue;
      uint64_t into = vaddr - load.p_vaddr;
      if (into <= load.p_memsz && size <= load.p_memsz - into) return true;
    }
    return false;
  }

  // A table the loader reads, of `count` × `size` bytes at `vaddr`, as a
  // file offset: in a read-only segment (ReadOnlyOffset).
  std::optional<uint64_t> Table(uint64_t vaddr, uint64_t count, uint64_t size) const {
    if (size != 0 && count > UINT64_MAX / size) return std::nullopt;
    return ReadOnlyOffset(vaddr, count * size);
  }

  // The bytes [vaddr, vaddr + size) meet the dynamic section, which glibc
  // reads again while it relocates (DT_SYMTAB at each relocation pass).
  bool OverlapsDynamic(uint64_t vaddr, uint64_t size) const {
    // By distance, so no sum can wrap around.
    if (vaddr >= dynamic_vaddr_) return vaddr - dynamic_vaddr_ < dynamic_size_;
    return dynamic_vaddr_ - vaddr < size;
  }

  Status ReadDynamic() {
    std::vector<uint64_t> needed;
    bool ended = false;
    uint64_t pltrel = DT_RELA;
    for (uint64_t i = 0; i < dynamic_count_ && !ended; ++i) {
      auto entry = At<Elf64_Dyn>(dynamic_offset_ + i * sizeof(Elf64_Dyn));
      if (!IsAllowedTag(entry.d_tag)) return Refuse("has " + TagName(entry.d_tag));
      uint64_t value = entry.d_un.d_val;
      switch (entry.d_tag) {
        case DT_NULL: ended = true; break;
        case DT_NEEDED: needed.push_back(value); break;
        case DT_STRTAB: strtab_ = value; break;
        case DT_STRSZ: strsz_ = value; break;
        case DT_SYMTAB: symtab_ = value; break;
        case DT_SYMENT: if (value != sizeof(Elf64_Sym)) return Refuse("has a bad DT_SYMENT"); break;
        case DT_RELAENT:
          if (value != sizeof(Elf64_Rela)) return Refuse("has a bad DT_RELAENT");
          break;
        case DT_RELA: rela_ = value; break;
        case DT_RELASZ: rela_size_ = value; break;
        case DT_JMPREL: jmprel_ = value; break;
        case DT_PLTRELSZ: jmprel_size_ = value; break;
        case DT_PLTREL: pltrel = value; break;
        case DT_HASH: hash_ = value; break;
        case DT_GNU_HASH: gnu_hash_ = value; break;
        case DT_VERSYM: versym_ = value; break;
        case DT_VERNEED: verneed_ = value; break;
        case DT_VERNEEDNUM: verneed_count_ = value; break;
        case DT_VERDEF: verdef_ = value; break;
        case DT_VERDEFNUM: verdef_count_ = value; break;
        case DT_FLAGS:
          if ((value & DF_TEXTREL) != 0) return Refuse("has DF_TEXTREL (relocations in its code)");
          break;
        default: break;
      }
    }
    if (!ended) return Refuse("has a dynamic section without DT_NULL");
    if (pltrel != DT_RELA) return Refuse("has DT_PLTREL other than DT_RELA");
    if (!strtab_ || !Table(*strtab_, strsz_, 1) || strsz_ == 0) {
      return Refuse("has no string table inside its read-only segments");
    }
    if (!symtab_) return Refuse("has no dynamic symbol table");
    for (uint64_t name : needed) {
      std::optional<std::string_view> library = String(name);
      if (!library) return Refuse("names a needed library outside its string table");
      if (std::find(std::begin(kAllowedLibraries), std::end(kAllowedLibraries), *library) ==
          std::end(kAllowedLibraries)) {
        return Refuse("needs library " + std::string(*library) +
                      " (only libc, libm, libstdc++, libgcc_s and ld-linux are allowed)");
      }
    }
    return Status::Ok();
  }

  // The NUL-terminated string at `offset` in the string table.
  std::optional<std::string_view> String(uint64_t offset) const {
    if (offset >= strsz_) return std::nullopt;
    uint64_t base = *Table(*strtab_, strsz_, 1);
    const char* begin = reinterpret_cast<const char*>(code_.data() + base + offset);
    const void* end = std::memchr(begin, 0, strsz_ - offset);
    if (end == nullptr) return std::nullopt;
    return std::string_view(begin, static_cast<const char*>(end) - begin);
  }

  // How many symbols the loader may look at: what the hash tables reach.
  // glibc looks symbols up with DT_GNU_HASH when there is one, else with
  // DT_HASH; both are checked, for whichever it takes.
  Status CountSymbols() {
    if (!hash_ && !gnu_hash_) return Refuse("has no symbol hash table");
    if (hash_) {
      if (Status s = CheckSysvHash(); !s.ok()) return s;
    }
    if (gnu_hash_) return CheckGnuHash();
    return Status::Ok();
  }

  // DT_HASH: a lookup takes symidx = bucket[hash % nbucket], then
  // chain[symidx] until 0, bounded by nothing but the values. Every bucket
  // and chain value must name a symbol below nchain (which CheckSymbols
  // checks), and no chain may loop (the lookup would never end).
  Status CheckSysvHash() {
    auto refuse = [] { return Refuse("has a DT_HASH outside its read-only segments"); };
    std::optional<uint64_t> at = Table(*hash_, 2, sizeof(uint32_t));
    if (!at) return refuse();
    uint32_t buckets = At<uint32_t>(*at);
    uint32_t chains = At<uint32_t>(*at + 4);
    if (!Table(*hash_, uint64_t{2} + buckets + chains, sizeof(uint32_t))) return refuse();
    if (buckets == 0) return Refuse("has a DT_HASH without buckets");
    auto value = [&](uint64_t i) { return At<uint32_t>(*at + 8 + i * 4); };
    for (uint64_t i = 0; i < uint64_t{buckets} + chains; ++i) {
      if (value(i) >= chains) return Refuse("has a DT_HASH entry naming a symbol past nchain");
    }
    // Each chain element is walked once: 1 = on the current walk, 2 = known
    // to reach 0.
    std::vector<uint8_t> state(chains, 0);
    std::vector<uint32_t> walk;
    for (uint64_t b = 0; b < buckets; ++b) {
      walk.clear();
      for (uint32_t i = value(b); i != 0 && state[i] != 2; i = value(uint64_t{buckets} + i)) {
        if (state[i] == 1) return Refuse("has a DT_HASH chain that loops");
        state[i] = 1;
        walk.push_back(i);
      }
      for (uint32_t i : walk) state[i] = 2;
    }
    symbol_count_ = std::max<uint64_t>(symbol_count_, chains);
    return Status::Ok();
  }

  // DT_GNU_HASH: a lookup starts at chain index bucket[hash % nbuckets]
  // (0: none) and reads chain words up to the first with bit 0 set; the
  // Bloom filter word is picked modulo its size. So: at least one bucket,
  // a power-of-two Bloom filter, every nonzero bucket at or past symoffset
  // (below it the walk would read the buckets as chain words and run on
  // unchecked), and the chain from the largest bucket ends inside the
  // table - every other walk ends at or before that end, so the symbols
  // below it are all a lookup can reach.
  Status CheckGnuHash() {
    auto refuse = [] { return Refuse("has a DT_GNU_HASH outside its read-only segments"); };
    std::optional<uint64_t> at = Table(*gnu_hash_, 4, sizeof(uint32_t));
    if (!at) return refuse();
    uint32_t buckets = At<uint32_t>(*at);
    uint32_t first = At<uint32_t>(*at + 4);
    uint32_t bloom = At<uint32_t>(*at + 8);
    if (buckets == 0 || bloom == 0 || (bloom & (bloom - 1)) != 0) {
      return Refuse("has a DT_GNU_HASH without buckets or with a bad Bloom filter");
    }
    uint64_t buckets_vaddr = *gnu_hash_ + 16 + uint64_t{bloom} * 8;
    std::optional<uint64_t> bucket_at = Table(buckets_vaddr, buckets, sizeof(uint32_t));
    if (!bucket_at) return refuse();
    uint64_t chains_vaddr = buckets_vaddr + uint64_t{buckets} * 4;
    uint32_t last = 0;
    for (uint64_t b = 0; b < buckets; ++b) {
      uint32_t start = At<uint32_t>(*bucket_at + b * 4);
      if (start != 0 && start < first) {
        return Refuse("has a DT_GNU_HASH bucket below its first hashed symbol");
      }
      last = std::max(last, start);
    }
    uint64_t count = first;
    if (last != 0) {
      for (uint64_t i = last;; ++i) {
        std::optional<uint64_t> chain = Table(chains_vaddr + (i - first) * 4, 1, 4);
        if (!chain) return Refuse("has a DT_GNU_HASH chain that does not end inside it");
        if ((At<uint32_t>(*chain) & 1) != 0) {
          count = i + 1;
          break;
        }
      }
    }
    symbol_count_ = std::max(symbol_count_, count);
    return Status::Ok();
  }

  Status CheckSymbols() {
    if (Status s = CountSymbols(); !s.ok()) return s;
    std::optional<uint64_t> table = Table(*symtab_, symbol_count_, sizeof(Elf64_Sym));
    if (!table) return Refuse("has a dynamic symbol table outside its read-only segments");
    if (versym_ && !Table(*versym_, symbol_count_, sizeof(Elf64_Half))) {
      return Refuse("has a DT_VERSYM outside its read-only segments");
    }
    for (uint64_t i = 0; i < symbol_count_; ++i) {
      auto symbol = At<Elf64_Sym>(*table + i * sizeof(Elf64_Sym));
      if (!String(symbol.st_name)) return Refuse("has a symbol name outside its string table");
      if (ELF64_ST_TYPE(symbol.st_info) == STT_GNU_IFUNC) {
        return Refuse("has an IFUNC symbol " + std::string(*String(symbol.st_name)) +
                      " (its resolver would run while the module loads)");
      }
    }
    return Status::Ok();
  }

  // The symbol version tables the loader walks. glibc follows vn_next,
  // vna_next and vd_next until they are 0, whatever DT_VERNEEDNUM,
  // DT_VERDEFNUM, vn_cnt and vd_cnt say, and reads the first auxiliary
  // entry even when the count is 0. So the walk checked here is glibc's:
  // a table present has at least one entry, each entry at least one
  // auxiliary entry, and next is 0 exactly on the last counted one.
  Status CheckVersions() {
    // Every entry lies in the file: a count beyond what it could hold is
    // refused before it is walked.
    if (verneed_count_ > code_.size() / sizeof(Elf64_Verneed) ||
        verdef_count_ > code_.size() / sizeof(Elf64_Verdef)) {
      return RefuseVersions();
    }
    if (verneed_.has_value() != (verneed_count_ != 0) ||
        verdef_.has_value() != (verdef_count_ != 0)) {
      return Refuse("has a symbol version table and count that disagree");
    }
    // Auxiliary entries too: no more in all than the file could hold.
    uint64_t budget = code_.size() / sizeof(Elf64_Vernaux);
    uint64_t at = verneed_.value_or(0);
    for (uint64_t i = 0; i < verneed_count_; ++i) {
      std::optional<uint64_t> entry = Table(at, 1, sizeof(Elf64_Verneed));
      if (!entry) return RefuseVersions();
      auto need = At<Elf64_Verneed>(*entry);
      if (!String(need.vn_file) || need.vn_cnt == 0) return RefuseVersions();
      uint64_t aux_at = at + need.vn_aux;
      for (uint16_t j = 0; j < need.vn_cnt; ++j) {
        std::optional<uint64_t> aux = Table(aux_at, 1, sizeof(Elf64_Vernaux));
        if (!aux || budget-- == 0) return RefuseVersions();
        auto version = At<Elf64_Vernaux>(*aux);
        if (!String(version.vna_name) || !EndsAtCount(version.vna_next, j, need.vn_cnt)) {
          return RefuseVersions();
        }
        version_high_ = std::max<uint32_t>(version_high_, version.vna_other & 0x7fff);
        aux_at += version.vna_next;
      }
      if (!EndsAtCount(need.vn_next, i, verneed_count_)) return RefuseVersions();
      at += need.vn_next;
    }
    at = verdef_.value_or(0);
    for (uint64_t i = 0; i < verdef_count_; ++i) {
      std::optional<uint64_t> entry = Table(at, 1, sizeof(Elf64_Verdef));
      if (!entry) return RefuseVersions();
      auto definition = At<Elf64_Verdef>(*entry);
      if (definition.vd_cnt == 0) return RefuseVersions();
      uint64_t aux_at = at + definition.vd_aux;
      for (uint16_t j = 0; j < definition.vd_cnt; ++j) {
        std::optional<uint64_t> aux = Table(aux_at, 1, sizeof(Elf64_Verdaux));
        if (!aux || budget-- == 0) return RefuseVersions();
        auto version = At<Elf64_Verdaux>(*aux);
        if (!String(version.vda_name) || !EndsAtCount(version.vda_next, j, definition.vd_cnt)) {
          return RefuseVersions();
        }
        aux_at += version.vda_next;
      }
      version_high_ = std::max<uint32_t>(version_high_, definition.vd_ndx & 0x7fff);
      if (!EndsAtCount(definition.vd_next, i, verdef_count_)) return RefuseVersions();
      at += definition.vd_next;
    }
    return Status::Ok();
  }

  static Status RefuseVersions() {
    return Refuse("has symbol version tables outside its read-only segments or whose "
                  "links do not end where their counts do");
  }

  // A version table link `next` of entry `index` of `count`: 0 exactly on
  // the last, so the loader's walk (to 0) and the count agree.
  static bool EndsAtCount(uint64_t next, uint64_t index, uint64_t count) {
    return (next == 0) == (index + 1 == count);
  }

  // The loader indexes its array of the object's versions (one per index
  // up to the highest needed or defined) with each symbol's DT_VERSYM
  // value, hidden bit masked off: every value must be in that array. 0
  // (local) and 1 (global) name no version.
  Status CheckVersionIndices() const {
    if (!versym_) return Status::Ok();
    if (version_high_ < 2) return Refuse("has a DT_VERSYM without version tables");
    uint64_t table = *Table(*versym_, symbol_count_, sizeof(Elf64_Half));
    for (uint64_t i = 0; i < symbol_count_; ++i) {
      if ((At<Elf64_Half>(table + i * sizeof(Elf64_Half)) & 0x7fff) > version_high_) {
        return Refuse("has a DT_VERSYM value naming no version of its own");
      }
    }
    return Status::Ok();
  }

  Status CheckRelocations(std::optional<uint64_t> vaddr, uint64_t bytes, const char* table) {
    if (bytes == 0) return Status::Ok();
    if (!vaddr || bytes % sizeof(Elf64_Rela) != 0) {
      return Refuse(std::string("has a bad ") + table);
    }
    uint64_t count = bytes / sizeof(Elf64_Rela);
    std::optional<uint64_t> at = Table(*vaddr, count, sizeof(Elf64_Rela));
    if (!at) return Refuse(std::string("has a ") + table + " outside its read-only segments");
    for (uint64_t i = 0; i < count; ++i) {
      auto relocation = At<Elf64_Rela>(*at + i * sizeof(Elf64_Rela));
      uint32_t type = ELF64_R_TYPE(relocation.r_info);
      uint64_t symbol = ELF64_R_SYM(relocation.r_info);
      if (type == R_X86_64_IRELATIVE) {
        return Refuse("has an R_X86_64_IRELATIVE relocation (an IFUNC resolver would run while "
                      "the module loads)");
      }
      if (!IsAllowedRelocation(type)) {
        return Refuse("has a relocation of type " + std::to_string(type) +
                      ", which module code never needs");
      }
      if (type == R_X86_64_NONE) continue;
      if (symbol >= symbol_count_) return Refuse("has a relocation naming no symbol of its own");
      if (!Writable(relocation.r_offset, sizeof(uint64_t))) {
        return Refuse("has a relocation that writes outside its own writable segments");
      }
      // The tables glibc reads while relocating are read-only (Table); the
      // dynamic section may be writable, so no relocation may touch it.
      if (OverlapsDynamic(relocation.r_offset, sizeof(uint64_t))) {
        return Refuse("has a relocation that writes into its dynamic section");
      }
    }
    return Status::Ok();
  }

  std::span<const uint8_t> code_;
  Elf64_Ehdr header_{};
  std::vector<Elf64_Phdr> loads_;
  uint64_t dynamic_offset_ = 0;
  uint64_t dynamic_count_ = 0;
  std::optional<uint64_t> strtab_, symtab_, rela_, jmprel_, hash_, gnu_hash_, versym_, verneed_,
      verdef_;
  uint64_t verneed_count_ = 0;
  uint64_t verdef_count_ = 0;
  uint64_t strsz_ = 0;
  uint64_t rela_size_ = 0;
  uint64_t jmprel_size_ = 0;
  uint64_t symbol_count_ = 0;
  uint32_t version_high_ = 0;  // the highest version index needed or defined
  uint64_t dynamic_vaddr_ = 0;
  uint64_t dynamic_size_ = 0;
  std::vector<Elf64_Phdr> relros_, tls_;
};

}  // namespace

Status CheckNativeCode(std::span<const uint8_t> code) { return Checker(code).Run(); }

}  // namespace ringfence::internal
