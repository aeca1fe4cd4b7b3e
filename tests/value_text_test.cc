// ParseValue / FormatValue: the text form of wasm values used by the CLI.
// Integers must wrap the unsigned range onto the signed type; floats must
// survive Format -> Parse bit for bit, NaN payloads included.
#include "tools/ringfence/value_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace ringfence::cli {
namespace {

using ::testing::HasSubstr;

// Parses `text`, failing the test (and returning a sentinel) on error.
Value ParseOk(std::string_view text, ValueType type) {
  StatusOr<Value> value = ParseValue(text, type);
  EXPECT_TRUE(value.ok()) << "'" << text << "' as " << ValueTypeName(type) << ": "
                          << value.status().ToString();
  if (!value.ok()) return Value{type, 0xdeadbeefdeadbeefull};
  EXPECT_EQ(value->type, type) << text;
  return *value;
}

// Expects `text` to be refused as `type`, with a message naming the type.
void ExpectRejected(std::string_view text, ValueType type) {
  StatusOr<Value> value = ParseValue(text, type);
  ASSERT_FALSE(value.ok()) << "'" << text << "' as " << ValueTypeName(type) << " parsed to bits 0x"
                           << std::hex << value->bits;
  EXPECT_EQ(value.status().code(), StatusCode::kInvalidArgument) << text;
  EXPECT_THAT(value.status().message(), HasSubstr(std::string(ValueTypeName(type)))) << text;
}

uint32_t F32Bits(std::string_view text) {
  return static_cast<uint32_t>(ParseOk(text, ValueType::kF32).bits);
}
uint64_t F64Bits(std::string_view text) { return ParseOk(text, ValueType::kF64).bits; }

std::string FormatF32Bits(uint32_t bits) { return FormatValue(Value{ValueType::kF32, bits}); }
std::string FormatF64Bits(uint64_t bits) { return FormatValue(Value{ValueType::kF64, bits}); }

// ---------------------------------------------------------------- integers

TEST(ValueTextTest, I32SignedDecimal) {
  EXPECT_EQ(ParseOk("0", ValueType::kI32).i32(), 0);
  EXPECT_EQ(ParseOk("42", ValueType::kI32).i32(), 42);
  EXPECT_EQ(ParseOk("-42", ValueType::kI32).i32(), -42);
  EXPECT_EQ(ParseOk("-0", ValueType::kI32).i32(), 0);
  EXPECT_EQ(ParseOk("2147483647", ValueType::kI32).i32(), INT32_MAX);
  EXPECT_EQ(ParseOk("-2147483648", ValueType::kI32).i32(), INT32_MIN);
}

TEST(ValueTextTest, I32UnsignedRangeWrapsToSigned) {
  EXPECT_EQ(ParseOk("2147483648", ValueType::kI32).i32(), INT32_MIN);
  EXPECT_EQ(ParseOk("4294967295", ValueType::kI32).i32(), -1);
  EXPECT_EQ(ParseOk("3000000000", ValueType::kI32).i32(), static_cast<int32_t>(3000000000u));
  // The high 32 bits of an i32 value stay clear.
  EXPECT_EQ(ParseOk("4294967295", ValueType::kI32).bits, 0xffffffffull);
  EXPECT_EQ(ParseOk("-1", ValueType::kI32).bits, 0xffffffffull);
}

TEST(ValueTextTest, I32Hex) {
  EXPECT_EQ(ParseOk("0x10", ValueType::kI32).i32(), 16);
  EXPECT_EQ(ParseOk("0XfF", ValueType::kI32).i32(), 255);
  EXPECT_EQ(ParseOk("0x7fffffff", ValueType::kI32).i32(), INT32_MAX);
  EXPECT_EQ(ParseOk("0xffffffff", ValueType::kI32).i32(), -1);
  EXPECT_EQ(ParseOk("0x80000000", ValueType::kI32).i32(), INT32_MIN);
  EXPECT_EQ(ParseOk("-0x10", ValueType::kI32).i32(), -16);
  EXPECT_EQ(ParseOk("-0x80000000", ValueType::kI32).i32(), INT32_MIN);
}

TEST(ValueTextTest, I32OutOfRangeAndGarbageRejected) {
  for (const char* text : {"4294967296", "-2147483649", "0x100000000", "-0x80000001",
                           "99999999999999999999", "", "-", "abc", "12abc", "1.5", "1e3", " 1",
                           "1 ", "0x", "-0x", "0xg", "--1", "0x-1", "+-1", "nan", "inf"}) {
    SCOPED_TRACE(text);
    ExpectRejected(text, ValueType::kI32);
  }
}

TEST(ValueTextTest, I64SignedDecimalHexAndWrap) {
  EXPECT_EQ(ParseOk("0", ValueType::kI64).i64(), 0);
  EXPECT_EQ(ParseOk("-7", ValueType::kI64).i64(), -7);
  EXPECT_EQ(ParseOk("9223372036854775807", ValueType::kI64).i64(), INT64_MAX);
  EXPECT_EQ(ParseOk("-9223372036854775808", ValueType::kI64).i64(), INT64_MIN);
  EXPECT_EQ(ParseOk("9223372036854775808", ValueType::kI64).i64(), INT64_MIN);
  EXPECT_EQ(ParseOk("18446744073709551615", ValueType::kI64).i64(), -1);
  EXPECT_EQ(ParseOk("0xffffffffffffffff", ValueType::kI64).i64(), -1);
  EXPECT_EQ(ParseOk("0x123456789abcdef0", ValueType::kI64).i64(), 0x123456789abcdef0ll);
  EXPECT_EQ(ParseOk("-0x8000000000000000", ValueType::kI64).i64(), INT64_MIN);
  // A value beyond 32 bits keeps all of them.
  EXPECT_EQ(ParseOk("4294967296", ValueType::kI64).i64(), 4294967296ll);
}

TEST(ValueTextTest, I64OutOfRangeAndGarbageRejected) {
  for (const char* text : {"18446744073709551616", "-9223372036854775809", "0x10000000000000000",
                           "-0x8000000000000001", "", "x", "1_000", "0b101", "1.0", "--5"}) {
    SCOPED_TRACE(text);
    ExpectRejected(text, ValueType::kI64);
  }
}

TEST(ValueTextTest, IntegersFormatAsSignedDecimal) {
  EXPECT_EQ(FormatValue(Value::I32(0)), "0");
  EXPECT_EQ(FormatValue(Value::I32(-8)), "-8");
  EXPECT_EQ(FormatValue(Value::I32(INT32_MIN)), "-2147483648");
  EXPECT_EQ(FormatValue(Value{ValueType::kI32, 0xffffffffu}), "-1");
  EXPECT_EQ(FormatValue(Value::I64(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(FormatValue(Value::I64(INT64_MAX)), "9223372036854775807");
}

TEST(ValueTextTest, IntegersRoundTrip) {
  std::mt19937_64 random(1234);
  for (int i = 0; i < 2000; ++i) {
    uint64_t bits = random();
    Value i64{ValueType::kI64, bits};
    EXPECT_EQ(ParseOk(FormatValue(i64), ValueType::kI64), i64);
    Value i32{ValueType::kI32, bits & 0xffffffffu};
    EXPECT_EQ(ParseOk(FormatValue(i32), ValueType::kI32), i32);
  }
}

// ------------------------------------------------------------------ floats

TEST(ValueTextTest, FloatsParseDecimalAndExponent) {
  EXPECT_EQ(ParseOk("1.5", ValueType::kF32).f32(), 1.5f);
  EXPECT_EQ(ParseOk("-2.25", ValueType::kF32).f32(), -2.25f);
  EXPECT_EQ(ParseOk("3", ValueType::kF32).f32(), 3.0f);
  EXPECT_EQ(ParseOk("1e10", ValueType::kF32).f32(), 1e10f);
  EXPECT_EQ(ParseOk("0.1", ValueType::kF64).f64(), 0.1);
  EXPECT_EQ(ParseOk("-1.25e-3", ValueType::kF64).f64(), -1.25e-3);
  EXPECT_EQ(ParseOk("+4", ValueType::kF64).f64(), 4.0);
  EXPECT_EQ(F32Bits("0"), 0u);
  EXPECT_EQ(F32Bits("-0"), 0x80000000u);
  EXPECT_EQ(F64Bits("-0.0"), 0x8000000000000000ull);
  // The high 32 bits of an f32 value stay clear, negative or not.
  EXPECT_EQ(ParseOk("-1", ValueType::kF32).bits, 0xbf800000ull);
}

TEST(ValueTextTest, FloatsParseInfinityAndNan) {
  EXPECT_EQ(F32Bits("inf"), 0x7f800000u);
  EXPECT_EQ(F32Bits("-inf"), 0xff800000u);
  EXPECT_EQ(F32Bits("infinity"), 0x7f800000u);
  EXPECT_EQ(F32Bits("nan"), 0x7fc00000u);
  EXPECT_EQ(F32Bits("-nan"), 0xffc00000u);
  EXPECT_EQ(F32Bits("nan:0x1"), 0x7f800001u);
  EXPECT_EQ(F32Bits("-nan:0x7fffff"), 0xffffffffu);
  EXPECT_EQ(F64Bits("inf"), 0x7ff0000000000000ull);
  EXPECT_EQ(F64Bits("-inf"), 0xfff0000000000000ull);
  EXPECT_EQ(F64Bits("nan"), 0x7ff8000000000000ull);
  EXPECT_EQ(F64Bits("-nan"), 0xfff8000000000000ull);
  EXPECT_EQ(F64Bits("nan:0x1"), 0x7ff0000000000001ull);
  EXPECT_EQ(F64Bits("nan:0xfffffffffffff"), 0x7fffffffffffffffull);
}

TEST(ValueTextTest, FloatGarbageRejected) {
  for (ValueType type : {ValueType::kF32, ValueType::kF64}) {
    SCOPED_TRACE(std::string(ValueTypeName(type)));
    for (const char* text : {"", "-", "+", "abc", "1.5x", "1,5", " 1", "1 ", "0x1p3x", "nan:",
                             "nan:0x", "nan:0x0", "nan:0xg", "nan:1", "infx", "nan:0x1x"}) {
      SCOPED_TRACE(text);
      ExpectRejected(text, type);
    }
  }
  // Payloads wider than the mantissa do not fit.
  ExpectRejected("nan:0x800000", ValueType::kF32);
  ExpectRejected("nan:0x10000000000000", ValueType::kF64);
  // Beyond the type's range is refused rather than silently made infinite.
  ExpectRejected("1e39", ValueType::kF32);
  ExpectRejected("1e309", ValueType::kF64);
}

// A value that is sign-prefixed twice is not a number: "--1" must not parse
// as -1 (nor "+-1", "--inf"); std::from_chars would take a second '-'.
TEST(ValueTextTest, FloatWithTwoSignsRejected) {
  for (ValueType type : {ValueType::kF32, ValueType::kF64}) {
    for (const char* text : {"--1", "+-1", "-+1", "--inf", "+-nan", "--0"}) {
      SCOPED_TRACE(text);
      ExpectRejected(text, type);
    }
  }
}

TEST(ValueTextTest, FloatsFormatShortest) {
  EXPECT_EQ(FormatValue(Value::F32(1.5f)), "1.5");
  EXPECT_EQ(FormatValue(Value::F32(0.1f)), "0.1");
  EXPECT_EQ(FormatValue(Value::F64(0.1)), "0.1");
  EXPECT_EQ(FormatValue(Value::F64(-8.0)), "-8");
  EXPECT_EQ(FormatValue(Value::F32(0.0f)), "0");
  EXPECT_EQ(FormatValue(Value::F32(-0.0f)), "-0");
  EXPECT_EQ(FormatValue(Value::F64(-0.0)), "-0");
  EXPECT_EQ(FormatValue(Value::F32(std::numeric_limits<float>::infinity())), "inf");
  EXPECT_EQ(FormatValue(Value::F64(-std::numeric_limits<double>::infinity())), "-inf");
  EXPECT_EQ(FormatValue(Value::F32(std::numeric_limits<float>::denorm_min())), "1e-45");
  EXPECT_EQ(FormatValue(Value::F64(std::numeric_limits<double>::denorm_min())), "5e-324");
  // 0.1f widened to double is not 0.1: the f32 form must not print as f64.
  EXPECT_EQ(FormatValue(Value::F64(static_cast<double>(0.1f))), "0.10000000149011612");
}

TEST(ValueTextTest, NansFormatCanonicallyOrWithPayload) {
  EXPECT_EQ(FormatF32Bits(0x7fc00000u), "nan");
  EXPECT_EQ(FormatF32Bits(0xffc00000u), "-nan");
  EXPECT_EQ(FormatF32Bits(0x7f800001u), "nan:0x1");
  EXPECT_EQ(FormatF32Bits(0x7fc00001u), "nan:0x400001");
  EXPECT_EQ(FormatF32Bits(0xffa00000u), "-nan:0x200000");
  EXPECT_EQ(FormatF64Bits(0x7ff8000000000000ull), "nan");
  EXPECT_EQ(FormatF64Bits(0xfff8000000000000ull), "-nan");
  EXPECT_EQ(FormatF64Bits(0x7ff0000000000001ull), "nan:0x1");
  EXPECT_EQ(FormatF64Bits(0xfff4000000000000ull), "-nan:0x4000000000000");
  // Infinity has a zero payload: it is not a NaN.
  EXPECT_EQ(FormatF64Bits(0x7ff0000000000000ull), "inf");
}

// Format then Parse must give back exactly the same bits.
void ExpectF32RoundTrip(uint32_t bits) {
  std::string text = FormatF32Bits(bits);
  StatusOr<Value> back = ParseValue(text, ValueType::kF32);
  ASSERT_TRUE(back.ok()) << "0x" << std::hex << bits << " -> '" << text << "': " << back.status().ToString();
  EXPECT_EQ(back->bits, bits) << "0x" << std::hex << bits << " -> '" << text << "' -> 0x" << back->bits;
}
void ExpectF64RoundTrip(uint64_t bits) {
  std::string text = FormatF64Bits(bits);
  StatusOr<Value> back = ParseValue(text, ValueType::kF64);
  ASSERT_TRUE(back.ok()) << "0x" << std::hex << bits << " -> '" << text << "': " << back.status().ToString();
  EXPECT_EQ(back->bits, bits) << "0x" << std::hex << bits << " -> '" << text << "' -> 0x" << back->bits;
}

TEST(ValueTextTest, SpecialFloatsRoundTrip) {
  for (uint32_t bits : {0x00000000u, 0x80000000u, 0x00000001u, 0x80000001u, 0x007fffffu,
                        0x00800000u, 0x7f7fffffu, 0xff7fffffu, 0x7f800000u, 0xff800000u,
                        0x7fc00000u, 0xffc00000u, 0x7f800001u, 0x7fbfffffu, 0x7fffffffu,
                        0xffffffffu, 0x3f800000u, 0x3dcccccdu}) {
    ExpectF32RoundTrip(bits);
  }
  for (uint64_t bits : {0x0000000000000000ull, 0x8000000000000000ull, 0x0000000000000001ull,
                        0x800fffffffffffffull, 0x0010000000000000ull, 0x7fefffffffffffffull,
                        0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
                        0xfff8000000000000ull, 0x7ff0000000000001ull, 0x7ff7ffffffffffffull,
                        0xffffffffffffffffull, 0x3fb999999999999aull}) {
    ExpectF64RoundTrip(bits);
  }
}

TEST(ValueTextTest, RandomFloatBitPatternsRoundTrip) {
  std::mt19937_64 random(20240601);
  for (int i = 0; i < 4000; ++i) {
    uint64_t bits = random();
    ExpectF64RoundTrip(bits);
    ExpectF32RoundTrip(static_cast<uint32_t>(bits));
    // Random bits are rarely NaN or denormal: force some of each.
    ExpectF32RoundTrip(static_cast<uint32_t>(bits) | 0x7f800000u);           // NaN or inf
    ExpectF64RoundTrip(bits | 0x7ff0000000000000ull);                        // NaN or inf
    ExpectF32RoundTrip(static_cast<uint32_t>(bits) & 0x807fffffu);           // denormal or 0
    ExpectF64RoundTrip(bits & 0x800fffffffffffffull);                        // denormal or 0
  }
}

// Shortest: the printed form is never longer than needed for the value, so
// well-known decimals print as written.
TEST(ValueTextTest, FormattedFloatsAreShortestForm) {
  for (const char* text : {"0.1", "0.2", "0.3", "1e+20", "1e-07", "123.456", "3.1415927"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(FormatValue(ParseOk(text, ValueType::kF32)), text);
  }
  for (const char* text : {"0.1", "0.3", "1e+100", "2.718281828459045", "1.7976931348623157e+308"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(FormatValue(ParseOk(text, ValueType::kF64)), text);
  }
}

}  // namespace
}  // namespace ringfence::cli
