// A bounded first pass over an untrusted .wasm, in front of wabt's IR
// reader: wabt builds its IR, validates and writes C recursively and sizes
// its allocations from the file's counts, so a small hostile file could
// otherwise exhaust the stack (deep nesting) or memory (millions of locals)
// of the build. The limits are in wasm_limits.cc and docs/module-authoring.md.
#ifndef RINGFENCE_SRC_TOOLCHAIN_WASM_LIMITS_H_
#define RINGFENCE_SRC_TOOLCHAIN_WASM_LIMITS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ringfence/status.h"

namespace ringfence::internal {

// The largest .wasm a build reads.
inline constexpr size_t kMaxWasmFileBytes = size_t{64} << 20;

// Ok unless `bytes` is over kMaxWasmFileBytes: then kBuildFailed naming
// `origin`. A build asks before reading the file, so no more is read.
Status CheckWasmFileSize(uint64_t bytes, const std::string& origin);

// Ok if `wasm` is within every limit and uses only the features ringfence
// translates (wasm_features.h). Otherwise kBuildFailed, with a message that
// starts with `origin` and names the limit or feature and where (byte offset,
// function index). A file that is not wasm at all fails here too, with
// wabt's reader's message. Reads only `wasm`; memory use is bounded by a
// small multiple of its size. Thread-safe.
Status CheckWasmLimits(std::span<const uint8_t> wasm, const std::string& origin);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_WASM_LIMITS_H_
