#include "ringfence/value.h"

namespace ringfence {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kI32: return "i32";
    case ValueType::kI64: return "i64";
    case ValueType::kF32: return "f32";
    case ValueType::kF64: return "f64";
  }
  return "?";
}

std::optional<ValueType> ParseValueType(std::string_view name) {
  for (ValueType type : {ValueType::kI32, ValueType::kI64, ValueType::kF32, ValueType::kF64}) {
    if (ValueTypeName(type) == name) return type;
  }
  return std::nullopt;
}

char ValueTypeCode(ValueType type) {
  switch (type) {
    case ValueType::kI32: return 'i';
    case ValueType::kI64: return 'I';
    case ValueType::kF32: return 'f';
    case ValueType::kF64: return 'F';
  }
  return '?';
}

std::optional<ValueType> ValueTypeFromCode(char code) {
  switch (code) {
    case 'i': return ValueType::kI32;
    case 'I': return ValueType::kI64;
    case 'f': return ValueType::kF32;
    case 'F': return ValueType::kF64;
  }
  return std::nullopt;
}

std::string Signature::ToString() const {
  std::string text = "(";
  for (size_t i = 0; i < params.size(); ++i) {
    if (i > 0) text += ", ";
    text += ValueTypeName(params[i]);
  }
  text += ") -> ";
  text += result ? ValueTypeName(*result) : "nil";
  return text;
}

}  // namespace ringfence
