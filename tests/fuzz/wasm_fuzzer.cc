// .wasm files from anywhere: internal::TranslateWasm, which `ringfence
// build` runs on a module's wasm before anything else reads it (wabt's
// reader and validator, the import and memory checks, wasm2c), answers any
// bytes with a translation or a kBuildFailed Status naming the file, never
// a crash, a hang or unbounded memory.
//
// wabt is linked as Debian builds it: not instrumented, so coverage guides
// the fuzzer only through ringfence's code, and memory errors inside wabt
// show only as crashes (docs/fuzzing.md).
#include <cstdint>
#include <span>
#include <string>

#include "src/base/sha256.h"
#include "src/toolchain/wasm_translation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringfence;
  using namespace ringfence::internal;
  const std::string origin = "fuzzed.wasm";
  std::span<const uint8_t> wasm(data, size);
  StatusOr<WasmTranslation> translation = TranslateWasm(wasm, origin);
  if (!translation.ok()) {
    RF_CHECK(translation.status().code() == StatusCode::kBuildFailed);
    RF_CHECK(translation.status().message().starts_with(origin));
    return 0;
  }
  RF_CHECK(translation->content_hash == Sha256Text(wasm));
  RF_CHECK(translation->exports.size() == translation->export_functions.size());
  RF_CHECK(!translation->c_source.empty() && !translation->c_header.empty());
  if (translation->memory) {
    RF_CHECK(translation->memory->initial_pages <= translation->memory->max_pages);
  }
  return 0;
}
