// The wasm features ringfence translates to C.
#ifndef RINGFENCE_SRC_TOOLCHAIN_WASM_FEATURES_H_
#define RINGFENCE_SRC_TOOLCHAIN_WASM_FEATURES_H_

#include <string>

#include "wabt/feature.h"
#include "wabt/opcode.h"

namespace ringfence::internal {

// What wabt 1.0.32's C writer translates and ringfence's module runtime
// implements: wasm 1.0 with mutable globals, saturating float-to-int,
// sign extension, multi-value, bulk memory and reference types. Not SIMD
// (the C writer aborts on v128), threads, exceptions, tail calls, memory64,
// multi-memory and the other proposals.
wabt::Features TranslatableFeatures();

// The name of the proposal (wabt's flag name, "simd", "threads", ...) that
// an opcode outside TranslatableFeatures() belongs to; "" if none does.
std::string FeatureOf(wabt::Opcode opcode);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_WASM_FEATURES_H_
