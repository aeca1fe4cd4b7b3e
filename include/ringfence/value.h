// Wasm values and function signatures as the host sees them.
#ifndef RINGFENCE_VALUE_H_
#define RINGFENCE_VALUE_H_

#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace ringfence {

enum class ValueType : uint8_t { kI32, kI64, kF32, kF64 };

// "i32", "i64", "f32", "f64".
std::string_view ValueTypeName(ValueType type);
std::optional<ValueType> ParseValueType(std::string_view name);
// One-letter code used in module descriptors: i I f F.
char ValueTypeCode(ValueType type);
std::optional<ValueType> ValueTypeFromCode(char code);

// An export's parameters and result (wasm allows at most one result here).
struct Signature {
  std::vector<ValueType> params;
  std::optional<ValueType> result;

  // "(i32, i32) -> i32"; "() -> nil" for no params and no result.
  std::string ToString() const;
  bool operator==(const Signature&) const = default;
};

// A typed value; the bits of i32/f32 live in the low 32 bits.
struct Value {
  ValueType type = ValueType::kI32;
  uint64_t bits = 0;

  static Value I32(int32_t v) { return {ValueType::kI32, static_cast<uint32_t>(v)}; }
  static Value I64(int64_t v) { return {ValueType::kI64, static_cast<uint64_t>(v)}; }
  static Value F32(float v) { return {ValueType::kF32, std::bit_cast<uint32_t>(v)}; }
  static Value F64(double v) { return {ValueType::kF64, std::bit_cast<uint64_t>(v)}; }

  int32_t i32() const { return static_cast<int32_t>(static_cast<uint32_t>(bits)); }
  int64_t i64() const { return static_cast<int64_t>(bits); }
  float f32() const { return std::bit_cast<float>(static_cast<uint32_t>(bits)); }
  double f64() const { return std::bit_cast<double>(bits); }

  bool operator==(const Value&) const = default;
};

// Maps a C++ type to its wasm value type: int32_t/uint32_t -> i32,
// int64_t/uint64_t -> i64, float -> f32, double -> f64.
template <typename T>
constexpr std::optional<ValueType> WasmTypeOf() {
  if constexpr (std::is_same_v<T, int32_t> || std::is_same_v<T, uint32_t>) return ValueType::kI32;
  else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t>) return ValueType::kI64;
  else if constexpr (std::is_same_v<T, float>) return ValueType::kF32;
  else if constexpr (std::is_same_v<T, double>) return ValueType::kF64;
  else return std::nullopt;
}

}  // namespace ringfence

#endif  // RINGFENCE_VALUE_H_
