#include "tools/ringfence/value_text.h"

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace ringfence::cli {
namespace {

// Float layout facts for bits-level NaN handling.
template <typename Float> struct FloatBits;
template <> struct FloatBits<float> {
  using Bits = uint32_t;
  static constexpr Bits kExponent = 0x7f800000u;
  static constexpr Bits kMantissa = 0x007fffffu;
  static constexpr Bits kSign = 0x80000000u;
  static constexpr Bits kQuiet = 0x00400000u;
};
template <> struct FloatBits<double> {
  using Bits = uint64_t;
  static constexpr Bits kExponent = 0x7ff0000000000000ull;
  static constexpr Bits kMantissa = 0x000fffffffffffffull;
  static constexpr Bits kSign = 0x8000000000000000ull;
  static constexpr Bits kQuiet = 0x0008000000000000ull;
};

template <typename Int>
std::optional<Int> ParseInteger(std::string_view text) {
  using Unsigned = std::make_unsigned_t<Int>;
  bool negative = !text.empty() && text[0] == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  Unsigned magnitude = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (negative) {
    if (magnitude > static_cast<Unsigned>(std::numeric_limits<Int>::max()) + 1) return std::nullopt;
    return static_cast<Int>(Unsigned{0} - magnitude);
  }
  return static_cast<Int>(magnitude);
}

template <typename Float>
std::optional<typename FloatBits<Float>::Bits> ParseFloatBits(std::string_view text) {
  using Traits = FloatBits<Float>;
  using Bits = typename Traits::Bits;
  bool negative = !text.empty() && text[0] == '-';
  std::string_view body = negative || (!text.empty() && text[0] == '+') ? text.substr(1) : text;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) return std::nullopt;  // one sign only
  Bits sign = negative ? Traits::kSign : 0;
  if (body == "inf" || body == "infinity") return sign | Traits::kExponent;
  if (body == "nan") return sign | Traits::kExponent | Traits::kQuiet;
  if (body.starts_with("nan:0x")) {
    std::string_view hex = body.substr(6);
    Bits payload = 0;
    auto [end, error] = std::from_chars(hex.data(), hex.data() + hex.size(), payload, 16);
    if (hex.empty() || error != std::errc() || end != hex.data() + hex.size() || payload == 0 ||
        (payload & ~Traits::kMantissa) != 0) {
      return std::nullopt;
    }
    return sign | Traits::kExponent | payload;
  }
  Float value = 0;
  auto [end, error] = std::from_chars(body.data(), body.data() + body.size(), value);
  if (body.empty() || error != std::errc() || end != body.data() + body.size()) return std::nullopt;
  Bits bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return sign | bits;
}

template <typename Float>
std::string FormatFloat(typename FloatBits<Float>::Bits bits) {
  using Traits = FloatBits<Float>;
  std::string sign = (bits & Traits::kSign) != 0 ? "-" : "";
  if ((bits & Traits::kExponent) == Traits::kExponent && (bits & Traits::kMantissa) != 0) {
    auto payload = bits & Traits::kMantissa;
    if (payload == Traits::kQuiet) return sign + "nan";
    return fmt::format("{}nan:{:#x}", sign, payload);
  }
  Float value;
  std::memcpy(&value, &bits, sizeof(value));
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  RF_CHECK(error == std::errc());
  return std::string(buffer, end);
}

}  // namespace

StatusOr<Value> ParseValue(std::string_view text, ValueType type) {
  std::optional<Value> value;
  switch (type) {
    case ValueType::kI32:
      if (auto v = ParseInteger<int32_t>(text)) value = Value::I32(*v);
      else if (auto u = ParseInteger<uint32_t>(text)) value = Value::I32(static_cast<int32_t>(*u));
      break;
    case ValueType::kI64:
      if (auto v = ParseInteger<int64_t>(text)) value = Value::I64(*v);
      else if (auto u = ParseInteger<uint64_t>(text)) value = Value::I64(static_cast<int64_t>(*u));
      break;
    case ValueType::kF32:
      if (auto bits = ParseFloatBits<float>(text)) value = Value{ValueType::kF32, *bits};
      break;
    case ValueType::kF64:
      if (auto bits = ParseFloatBits<double>(text)) value = Value{ValueType::kF64, *bits};
      break;
  }
  if (!value) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("'{}' is not a valid {}", text, ValueTypeName(type)));
  }
  return *value;
}

std::string FormatValue(const Value& value) {
  switch (value.type) {
    case ValueType::kI32: return std::to_string(value.i32());
    case ValueType::kI64: return std::to_string(value.i64());
    case ValueType::kF32: return FormatFloat<float>(static_cast<uint32_t>(value.bits));
    case ValueType::kF64: return FormatFloat<double>(value.bits);
  }
  return "?";
}

}  // namespace ringfence::cli
