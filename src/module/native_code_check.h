// The check a process-backend module's shared object passes before anything
// maps it: the builder on what it linked, the host when it loads a module
// file, the worker before dlopen.
//
// The dynamic loader runs code while it loads an object - constructors
// (DT_INIT, DT_INIT_ARRAY, DT_PREINIT_ARRAY), IFUNC resolvers (STT_GNU_IFUNC
// symbols, R_X86_64_IRELATIVE) - and writes wherever the object's
// relocations say. In the worker that happens before the sandbox's final
// filter, so a hostile object would run with openat, prctl and no file-size
// limit, or patch the worker and libc. The check reads what the loader
// reads (program headers and the dynamic section, never section names),
// follows the links the loader follows (glibc's, not the counts beside
// them), and accepts only an object whose loading runs none of its code
// and writes or mprotects only inside its own writable segments:
//   - ELF64, little-endian, ET_DYN, x86-64; program headers of known types;
//     a non-executable PT_GNU_STACK; no segment both writable and executable;
//     PT_LOAD segments in address order, on pages of their own;
//   - PT_GNU_RELRO inside a writable PT_LOAD; PT_TLS's image inside a
//     PT_LOAD's file bytes;
//   - dynamic tags from an allowlist (no DT_INIT/FINI(_ARRAY), PREINIT_ARRAY,
//     TEXTREL, AUDIT, DEPAUDIT, FILTER, AUXILIARY, RPATH/RUNPATH, ...);
//     DT_NEEDED only for the libraries the worker has loaded already;
//   - every table the loader reads while relocating (strings, symbols,
//     DT_HASH, DT_GNU_HASH, symbol versions, DT_RELA, DT_JMPREL) inside the
//     file bytes of a non-writable PT_LOAD, so no relocation can change it;
//   - hash tables whose every lookup stays among the checked symbols:
//     DT_HASH bucket and chain values below nchain, chains without loops;
//     DT_GNU_HASH buckets 0 or at least symoffset, chains ending in the
//     table;
//   - version needs and definitions whose next links are 0 exactly on the
//     last counted entry, each with at least one auxiliary entry, and
//     DT_VERSYM values no higher than the highest version index they define
//     or need;
//   - no STT_GNU_IFUNC symbol among those the hash tables reach;
//   - relocations (RELA only) of the types the toolchain emits for data and
//     calls, never R_X86_64_IRELATIVE, each writing 8 bytes inside a
//     writable PT_LOAD segment of the object and outside its PT_DYNAMIC
//     (which glibc reads again while relocating), naming a checked symbol.
// It assumes glibc's loader loading with RTLD_NOW (no lazy binding), as
// the worker does.
// Every read is bounds-checked: any byte string gives a Status, never a
// crash. Dependency-free (the worker links it). Thread-safe (no state).
#ifndef RINGFENCE_SRC_MODULE_NATIVE_CODE_CHECK_H_
#define RINGFENCE_SRC_MODULE_NATIVE_CODE_CHECK_H_

#include <cstdint>
#include <span>

#include "ringfence/status.h"

namespace ringfence::internal {

// Ok if `code` is a shared object the dynamic loader can load without
// running any of its code or writing outside it; else kNotAModule whose
// message says what was found (without a prefix: the caller names the file).
Status CheckNativeCode(std::span<const uint8_t> code);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_MODULE_NATIVE_CODE_CHECK_H_
