// The module file container (PackModuleFile/UnpackModuleFile), the
// descriptor's JSON form and the checks made before code is mapped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ringfence/internal/module_abi.h"
#include "ringfence/module_file.h"
#include "src/base/sha256.h"
#include "src/module/module_file_check.h"
#include "src/module/module_file_format.h"

namespace ringfence {
namespace {

using ::testing::HasSubstr;
using internal::kModuleHeaderBytes;
using internal::PackModuleFile;
using internal::UnpackModuleFile;

using Bytes = std::vector<uint8_t>;

uint64_t ReadLe(const Bytes& bytes, size_t offset, int width) {
  uint64_t value = 0;
  for (int i = 0; i < width; ++i) value |= uint64_t{bytes[offset + i]} << (8 * i);
  return value;
}

void WriteLe(Bytes& bytes, size_t offset, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) bytes[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

const std::string kJson = R"({"name":"x"})";
const Bytes kCode = {0x7f, 'E', 'L', 'F', 0, 1, 2, 3, 0xff, 0xfe};

TEST(Sha256Test, MatchesAKnownVector) {
  const std::string abc = "abc";
  internal::Sha256Digest digest =
      internal::Sha256(std::span(reinterpret_cast<const uint8_t*>(abc.data()), abc.size()));
  EXPECT_EQ(internal::HexOf(digest),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ModuleFileFormatTest, PackLaysOutTheHeader) {
  Bytes file = PackModuleFile(kJson, kCode);
  ASSERT_EQ(file.size(), kModuleHeaderBytes + kJson.size() + kCode.size());
  EXPECT_EQ(std::string(file.begin(), file.begin() + 8), "RFMODULE");
  EXPECT_EQ(ReadLe(file, 8, 4), RF_MODULE_ABI_VERSION);
  EXPECT_EQ(ReadLe(file, 12, 4), 0u) << "reserved";
  EXPECT_EQ(ReadLe(file, 16, 8), kJson.size());
  EXPECT_EQ(ReadLe(file, 24, 8), kCode.size());
  // The checksum covers the header's first 32 bytes, then the descriptor and
  // the code that follow the header: every byte but the digest.
  Bytes covered(file.begin(), file.begin() + 32);
  covered.insert(covered.end(), file.begin() + kModuleHeaderBytes, file.end());
  internal::Sha256Digest digest = internal::Sha256(covered);
  EXPECT_TRUE(std::equal(digest.begin(), digest.end(), file.begin() + 32));
  EXPECT_EQ(std::string(file.begin() + 64, file.begin() + 64 + kJson.size()), kJson);
  EXPECT_EQ(Bytes(file.begin() + 64 + kJson.size(), file.end()), kCode);
}

TEST(ModuleFileFormatTest, UnpackReturnsWhatWasPacked) {
  Bytes file = PackModuleFile(kJson, kCode);
  StatusOr<internal::ModuleFileParts> parts = UnpackModuleFile(file, "test");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ(parts->descriptor_json, kJson);
  EXPECT_EQ(Bytes(parts->code.begin(), parts->code.end()), kCode);
  // Views into the given bytes, not copies.
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(parts->descriptor_json.data()), file.data() + 64);
}

TEST(ModuleFileFormatTest, EmptyPartsRoundTrip) {
  Bytes file = PackModuleFile("", {});
  EXPECT_EQ(file.size(), kModuleHeaderBytes);
  StatusOr<internal::ModuleFileParts> parts = UnpackModuleFile(file, "test");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_TRUE(parts->descriptor_json.empty());
  EXPECT_TRUE(parts->code.empty());
}

TEST(ModuleFileFormatTest, LargeCodeRoundTrips) {
  Bytes code(1 << 20);
  for (size_t i = 0; i < code.size(); ++i) code[i] = static_cast<uint8_t>(i * 31 + (i >> 8));
  Bytes file = PackModuleFile(kJson, code);
  StatusOr<internal::ModuleFileParts> parts = UnpackModuleFile(file, "test");
  ASSERT_TRUE(parts.ok());
  EXPECT_TRUE(std::equal(code.begin(), code.end(), parts->code.begin(), parts->code.end()));
}

TEST(ModuleFileFormatTest, WrongMagicIsNotAModule) {
  Bytes file = PackModuleFile(kJson, kCode);
  file[0] = 'X';
  Status status = UnpackModuleFile(file, "origin.rfm").status();
  EXPECT_EQ(status.code(), StatusCode::kNotAModule);
  EXPECT_THAT(status.message(), HasSubstr("origin.rfm"));
  EXPECT_THAT(status.message(), HasSubstr("RFMODULE"));
  // Shorter than the magic.
  EXPECT_EQ(UnpackModuleFile(Bytes{'R', 'F'}, "short").status().code(), StatusCode::kNotAModule);
  EXPECT_EQ(UnpackModuleFile(Bytes{}, "empty").status().code(), StatusCode::kNotAModule);
}

TEST(ModuleFileFormatTest, ShortHeaderIsTruncated) {
  Bytes file = PackModuleFile(kJson, kCode);
  file.resize(40);
  Status status = UnpackModuleFile(file, "test").status();
  EXPECT_EQ(status.code(), StatusCode::kNotAModule);
  EXPECT_THAT(status.message(), HasSubstr("truncated"));
}

TEST(ModuleFileFormatTest, OtherAbiVersionIsRefusedBeforeAnythingElse) {
  Bytes file = PackModuleFile(kJson, kCode);
  WriteLe(file, 8, RF_MODULE_ABI_VERSION + 1, 4);
  file.pop_back();  // also truncated: the version is reported first
  Status status = UnpackModuleFile(file, "test").status();
  EXPECT_EQ(status.code(), StatusCode::kAbiMismatch);
  EXPECT_THAT(status.message(), HasSubstr(std::to_string(RF_MODULE_ABI_VERSION + 1)));
}

// Lengths in the header that do not add up to the file size - including ones
// chosen to overflow a careless sum - are refused without reading past the end.
TEST(ModuleFileFormatTest, InconsistentLengthsAreRefused) {
  const Bytes good = PackModuleFile(kJson, kCode);
  const uint64_t body = good.size() - kModuleHeaderBytes;
  struct Lengths {
    uint64_t descriptor;
    uint64_t code;
  };
  const Lengths kCases[] = {
      {kJson.size() + 1, kCode.size()},
      {kJson.size(), kCode.size() - 1},
      {body + 1, 0},
      {UINT64_MAX, body + 1},  // the sum wraps around to `body`
      {body + 1, UINT64_MAX},  // likewise, the other way round
      {uint64_t{1} << 63, uint64_t{1} << 63},
      {0, UINT64_MAX},
  };
  for (const Lengths& lengths : kCases) {
    SCOPED_TRACE(::testing::Message() << lengths.descriptor << " + " << lengths.code);
    Bytes file = good;
    WriteLe(file, 16, lengths.descriptor, 8);
    WriteLe(file, 24, lengths.code, 8);
    Status status = UnpackModuleFile(file, "test").status();
    EXPECT_EQ(status.code(), StatusCode::kNotAModule);
    EXPECT_THAT(status.message(), HasSubstr("truncated or has trailing data"));
  }
  // Moving the boundary keeps the sum, but the lengths are header bytes the
  // checksum covers: refused.
  Bytes shifted = good;
  WriteLe(shifted, 16, kJson.size() - 1, 8);
  WriteLe(shifted, 24, kCode.size() + 1, 8);
  Status status = UnpackModuleFile(shifted, "test").status();
  EXPECT_EQ(status.code(), StatusCode::kNotAModule);
  EXPECT_THAT(status.message(), HasSubstr("checksum"));
}

TEST(ModuleFileFormatTest, ChangedContentFailsTheChecksum) {
  for (size_t offset : {kModuleHeaderBytes, kModuleHeaderBytes + kJson.size(),
                        kModuleHeaderBytes + kJson.size() + kCode.size() - 1, size_t{32},
                        size_t{63}}) {
    SCOPED_TRACE("byte " + std::to_string(offset));
    Bytes file = PackModuleFile(kJson, kCode);
    file[offset] ^= 0x80;
    Status status = UnpackModuleFile(file, "test").status();
    EXPECT_EQ(status.code(), StatusCode::kNotAModule);
    EXPECT_THAT(status.message(), HasSubstr("checksum"));
  }
}

// Header bytes 12-15 are reserved: a file with anything there is refused,
// and the checksum covers them with the rest of the header.
TEST(ModuleFileFormatTest, ReservedHeaderBytesMustBeZero) {
  for (size_t offset = 12; offset < 16; ++offset) {
    SCOPED_TRACE("byte " + std::to_string(offset));
    Bytes file = PackModuleFile(kJson, kCode);
    file[offset] ^= 0x01;
    Status status = UnpackModuleFile(file, "test").status();
    EXPECT_EQ(status.code(), StatusCode::kNotAModule);
    EXPECT_THAT(status.message(), HasSubstr("reserved"));
  }
}

// ---------------------------------------------------------------------------
// ModuleDescriptor <-> JSON.

ModuleDescriptor FullDescriptor() {
  ModuleDescriptor descriptor;
  descriptor.name = "sample";
  descriptor.abi_version = RF_MODULE_ABI_VERSION;
  descriptor.content_hash = "sha256:" + std::string(64, 'a');
  descriptor.source_hash = "sha256:" + std::string(64, 'b');
  descriptor.exports = {
      {"all_types", Signature{{ValueType::kI32, ValueType::kI64, ValueType::kF32, ValueType::kF64},
                              ValueType::kF64}},
      {"nothing", Signature{}},
      {"wide", Signature{{ValueType::kI64}, ValueType::kI64}},
      {"näme with \"quotes\"", Signature{{}, ValueType::kF32}},
  };
  descriptor.imports = {
      {"ringfence", "log", Signature{{ValueType::kI32, ValueType::kI32, ValueType::kI32}, {}}},
      {"wasi_snapshot_preview1", "clock_time_get",
       Signature{{ValueType::kI32, ValueType::kI64, ValueType::kI32}, ValueType::kI32}},
  };
  descriptor.memory = MemoryInfo{17, 65536};
  descriptor.function_count = 4'000'000'000u;
  descriptor.built_by = "ringfence test";
  return descriptor;
}

void ExpectSameDescriptor(const ModuleDescriptor& actual, const ModuleDescriptor& expected) {
  EXPECT_EQ(actual.name, expected.name);
  EXPECT_EQ(actual.abi_version, expected.abi_version);
  EXPECT_EQ(actual.content_hash, expected.content_hash);
  EXPECT_EQ(actual.source_hash, expected.source_hash);
  ASSERT_EQ(actual.exports.size(), expected.exports.size());
  for (size_t i = 0; i < expected.exports.size(); ++i) {
    EXPECT_EQ(actual.exports[i].name, expected.exports[i].name);
    EXPECT_EQ(actual.exports[i].signature, expected.exports[i].signature)
        << actual.exports[i].signature.ToString();
  }
  ASSERT_EQ(actual.imports.size(), expected.imports.size());
  for (size_t i = 0; i < expected.imports.size(); ++i) {
    EXPECT_EQ(actual.imports[i].module, expected.imports[i].module);
    EXPECT_EQ(actual.imports[i].name, expected.imports[i].name);
    EXPECT_EQ(actual.imports[i].signature, expected.imports[i].signature);
  }
  ASSERT_EQ(actual.memory.has_value(), expected.memory.has_value());
  if (expected.memory) {
    EXPECT_EQ(actual.memory->initial_pages, expected.memory->initial_pages);
    EXPECT_EQ(actual.memory->max_pages, expected.memory->max_pages);
  }
  EXPECT_EQ(actual.function_count, expected.function_count);
  EXPECT_EQ(actual.built_by, expected.built_by);
}

TEST(ModuleDescriptorTest, JsonRoundTrip) {
  const ModuleDescriptor descriptor = FullDescriptor();
  for (int indent : {-1, 2}) {
    SCOPED_TRACE("indent " + std::to_string(indent));
    std::string json = descriptor.ToJson(indent);
    StatusOr<ModuleDescriptor> parsed = ModuleDescriptor::FromJson(json);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << json;
    ExpectSameDescriptor(*parsed, descriptor);
    // Serialising again gives the same text: nothing is lost or invented.
    EXPECT_EQ(parsed->ToJson(indent), json);
  }
  EXPECT_THAT(descriptor.ToJson(2), HasSubstr("\n  \"name\": \"sample\""));
}

TEST(ModuleDescriptorTest, NoMemoryRoundTripsAsNull) {
  ModuleDescriptor descriptor = FullDescriptor();
  descriptor.memory.reset();
  std::string json = descriptor.ToJson();
  EXPECT_THAT(json, HasSubstr("\"memory\":null"));
  StatusOr<ModuleDescriptor> parsed = ModuleDescriptor::FromJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_FALSE(parsed->memory.has_value());
  ExpectSameDescriptor(*parsed, descriptor);
}

TEST(ModuleDescriptorTest, FieldsUseTheDocumentedNames) {
  std::string json = FullDescriptor().ToJson();
  for (const char* field : {"\"format\":\"ringfence-module\"", "\"name\":\"sample\"",
                            "\"abi_version\":4", "\"function_count\":4000000000",
                            "\"params\":[\"i32\",\"i64\",\"f32\",\"f64\"]",
                            "\"results\":[\"f64\"]", "\"initial_pages\":17",
                            "\"max_pages\":65536", "\"module\":\"ringfence\""}) {
    EXPECT_THAT(json, HasSubstr(field));
  }
}

TEST(ModuleDescriptorTest, FromJsonRefusesBadDocuments) {
  const std::string good = FullDescriptor().ToJson();
  ASSERT_TRUE(ModuleDescriptor::FromJson(good).ok());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string changed = good;
    size_t at = changed.find(from);
    RF_CHECK(at != std::string::npos);
    changed.replace(at, from.size(), to);
    return changed;
  };
  const std::string kBad[] = {
      "",
      "{",
      "[]",
      "{}",
      with("\"ringfence-module\"", "\"other\""),
      with("\"abi_version\":4", "\"abi_version\":-1"),
      with("\"abi_version\":4", "\"abi_version\":1.5"),
      with("\"abi_version\":4", "\"abi_version\":4294967296"),
      with("\"function_count\":4000000000", "\"function_count\":\"many\""),
      with("\"results\":[\"f64\"]", "\"results\":[\"f64\",\"f64\"]"),
      with("\"params\":[\"i32\",\"i64\",\"f32\",\"f64\"]", "\"params\":[\"i32\",\"v128\"]"),
      with("\"params\":[\"i32\",\"i64\",\"f32\",\"f64\"]", "\"params\":[1]"),
      with("\"params\":[\"i32\",\"i64\",\"f32\",\"f64\"]", "\"params\":\"i32\""),
      with("\"module\":\"ringfence\",", ""),
      with("\"initial_pages\":17", "\"initial_pages\":null"),
      with("\"name\":\"sample\"", "\"name\":\"\""),
      with("\"built_by\":\"ringfence test\"", "\"built_by\":null"),
      with("\"source_hash\":\"sha256:", "\"source_hash\":[\"sha256:"),
  };
  for (const std::string& json : kBad) {
    SCOPED_TRACE(json);
    StatusOr<ModuleDescriptor> parsed = ModuleDescriptor::FromJson(json);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), StatusCode::kNotAModule);
    EXPECT_THAT(parsed.status().message(), HasSubstr("descriptor"));
  }
}

// Unknown fields are ignored (room for later additions); order does not matter.
TEST(ModuleDescriptorTest, FromJsonIgnoresUnknownFields) {
  std::string json = FullDescriptor().ToJson();
  json.insert(1, "\"added_later\":{\"x\":[1,2]},");
  StatusOr<ModuleDescriptor> parsed = ModuleDescriptor::FromJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ExpectSameDescriptor(*parsed, FullDescriptor());
}

// Everything Module::Load checks before it maps or stages code: a process
// module's function offsets must lie inside its code.
TEST(ModuleFileCheckTest, NativeFunctionsMustLieInsideTheCode) {
  ModuleDescriptor descriptor;
  descriptor.name = "p";
  descriptor.abi_version = RF_MODULE_ABI_VERSION;
  descriptor.isolation = Isolation::kProcess;
  descriptor.exports = {{"f", Signature{{ValueType::kI32}, ValueType::kI32}}};
  descriptor.native_functions = {{0, "f"}, {kCode.size() - 1, "g"}};
  descriptor.content_hash = internal::Sha256Text(kCode);
  Bytes inside = PackModuleFile(descriptor.ToJson(), kCode);
  StatusOr<internal::CheckedModuleFile> checked = internal::CheckModuleFile(inside, "p.rfm");
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_EQ(checked->call_classes.size(), 1u);
  EXPECT_EQ(checked->code.size(), kCode.size());

  descriptor.native_functions.push_back({kCode.size(), "past_the_end"});
  Bytes outside = PackModuleFile(descriptor.ToJson(), kCode);
  for (const Status& status : {internal::CheckModuleFile(outside, "p.rfm").status(),
                               Module::LoadFromBytes(outside, "p.rfm").status()}) {
    EXPECT_EQ(status.code(), StatusCode::kNotAModule);
    EXPECT_THAT(status.message(),
                AllOf(HasSubstr("p.rfm"), HasSubstr("past_the_end lies outside its code")));
  }
}

}  // namespace
}  // namespace ringfence
