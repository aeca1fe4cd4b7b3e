#include "src/toolchain/c_text.h"

#include <fmt/format.h>

namespace ringfence::internal {

std::string_view SlotSuffix(ValueType type) {
  switch (type) {
    case ValueType::kI32: return "u32";
    case ValueType::kI64: return "u64";
    case ValueType::kF32: return "f32";
    case ValueType::kF64: return "f64";
  }
  return "u32";
}

std::string CString(std::string_view text) {
  std::string quoted = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f || c == '?') {
      quoted += fmt::format("\\{:03o}", c);
    } else {
      quoted += static_cast<char>(c);
    }
  }
  return quoted + "\"";
}

}  // namespace ringfence::internal
