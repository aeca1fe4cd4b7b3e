#include "src/toolchain/wasm_features.h"

namespace ringfence::internal {

wabt::Features TranslatableFeatures() {
  wabt::Features features;  // wabt's defaults, which include SIMD
  features.disable_simd();
  return features;
}

std::string FeatureOf(wabt::Opcode opcode) {
  const wabt::Features translatable = TranslatableFeatures();
#define WABT_FEATURE(variable, flag, default_, help) \
  if (!translatable.variable##_enabled()) {          \
    wabt::Features with = translatable;              \
    with.enable_##variable();                        \
    if (opcode.IsEnabled(with)) return flag;         \
  }
#include "wabt/feature.def"
#undef WABT_FEATURE
  return "";
}

}  // namespace ringfence::internal
