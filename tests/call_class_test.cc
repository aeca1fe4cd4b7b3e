// Call-class declarations (RF_IDEMPOTENT, RF_STATE_SETTING[_KEYED]) are read
// at load time; a bad one makes the module file invalid, with a clear error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "src/module/call_classes.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::testing::HasSubstr;

ModuleDescriptor WithExports(std::vector<ExportInfo> exports) {
  ModuleDescriptor descriptor;
  descriptor.exports = std::move(exports);
  return descriptor;
}

ExportInfo Export(std::string name, std::vector<ValueType> params = {}) {
  return {std::move(name), Signature{std::move(params), std::nullopt}};
}

TEST(CallClassTest, ModuleDeclarationsAreRead) {
  auto module = testing::LoadOrDie(testing::TestModulePath("lib_supervised"));
  uint32_t configure = *module->FindExport("configure");
  uint32_t set_entry = *module->FindExport("set_entry");
  uint32_t mode = *module->FindExport("mode");
  uint32_t deposit = *module->FindExport("deposit");
  EXPECT_EQ(module->call_class(configure).call_class, CallClass::kStateSetting);
  EXPECT_FALSE(module->call_class(configure).key_param);
  EXPECT_EQ(module->call_class(set_entry).call_class, CallClass::kStateSetting);
  EXPECT_EQ(module->call_class(set_entry).key_param, 0u);
  EXPECT_EQ(module->call_class(mode).call_class, CallClass::kIdempotent);
  EXPECT_EQ(module->call_class(deposit).call_class, CallClass::kNeither);
}

TEST(CallClassTest, DeclarationForAMissingExportFailsTheLoad) {
  StatusOr<std::shared_ptr<const Module>> module =
      Module::Load(testing::TestModulePath("lib_bad_call_class"));
  ASSERT_FALSE(module.ok());
  EXPECT_EQ(module.status().code(), StatusCode::kNotAModule);
  EXPECT_THAT(module.status().message(),
              HasSubstr("bad call-class declaration 'ringfence.call_class:absent:idempotent'"));
}

TEST(CallClassTest, MalformedDeclarationsAreRefused) {
  using internal::ParseCallClasses;
  struct Case {
    std::vector<ExportInfo> exports;
    const char* why;
  } cases[] = {
      {{Export("f"), Export("ringfence.call_class:f")}, "expected <export>:<class>"},
      {{Export("f"), Export("ringfence.call_class:f:sometimes")}, "unknown class"},
      {{Export("f", {ValueType::kI32}), Export("ringfence.call_class:f:state:key=1")},
       "integer parameter"},
      {{Export("f", {ValueType::kF64}), Export("ringfence.call_class:f:state:key=0")},
       "integer parameter"},
      {{Export("f", {ValueType::kI32}), Export("ringfence.call_class:f:state:key=0x")},
       "integer parameter"},
      {{Export("f"), Export("ringfence.call_class:f:idempotent"),
        Export("ringfence.call_class:f:state")},
       "already has a call class"},
  };
  for (const Case& test : cases) {
    StatusOr<std::vector<ExportCallClass>> parsed = ParseCallClasses(WithExports(test.exports), "m.rfm");
    ASSERT_FALSE(parsed.ok()) << test.why;
    EXPECT_EQ(parsed.status().code(), StatusCode::kNotAModule);
    EXPECT_THAT(parsed.status().message(), AllOf(HasSubstr("m.rfm"), HasSubstr(test.why)));
  }
  StatusOr<std::vector<ExportCallClass>> fine = ParseCallClasses(
      WithExports({Export("f", {ValueType::kI64}), Export("ringfence.call_class:f:state:key=0")}),
      "m.rfm");
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ((*fine)[0].key_param, 0u);
}

// A module file is hostile: tens of thousands of declarations, each for an
// export listed after all of them, are each matched to their own export
// (a repeated name to its first), with one search of the sorted names per
// declaration, not one scan of all exports: with scans, these took ~3 s of
// CPU and ten times as many would take ~300 s; now the test takes
// milliseconds. (Measured, not asserted: timing is for benchmarks.)
TEST(CallClassTest, ManyDeclarationsEachFindTheirExport) {
  constexpr size_t kCount = 40'000;
  std::vector<ExportInfo> exports;
  for (size_t i = 0; i < kCount; ++i) {
    exports.push_back(Export(fmt::format("ringfence.call_class:f{}:{}", i,
                                         i % 2 == 0 ? "idempotent" : "state:key=0")));
  }
  for (size_t i = 0; i < kCount; ++i) exports.push_back(Export(fmt::format("f{}", i), {ValueType::kI32}));
  exports.push_back(Export("f0", {ValueType::kF64}));  // a repeated name: the first f0 is meant
  StatusOr<std::vector<ExportCallClass>> parsed =
      internal::ParseCallClasses(WithExports(exports), "m.rfm");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  for (size_t i = 0; i < kCount; ++i) {
    EXPECT_EQ((*parsed)[i].call_class, CallClass::kNeither);
    const ExportCallClass& declared = (*parsed)[kCount + i];
    EXPECT_EQ(declared.call_class, i % 2 == 0 ? CallClass::kIdempotent : CallClass::kStateSetting);
    EXPECT_EQ(declared.key_param, i % 2 == 0 ? std::nullopt : std::optional<uint32_t>(0));
  }
  EXPECT_EQ(parsed->back().call_class, CallClass::kNeither);
}

}  // namespace
}  // namespace ringfence
