// Compartments: trap containment for every trap kind, restart and state reset,
// checked window access, export lookup and typing, memory limits, and module
// output reaching the host's log sink.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "ringfence/compartment.h"
#include "ringfence/log.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::testing::HasSubstr;
using testing::CreateOrDie;
using testing::ExampleModulePath;
using testing::LoadOrDie;
using testing::TestModulePath;

// One log record, owned (LogRecord only holds views).
struct CapturedRecord {
  std::string module;
  LogSource source;
  std::string message;
  bool operator==(const CapturedRecord&) const = default;
};

void PrintTo(const CapturedRecord& record, std::ostream* os) {
  *os << "{" << record.module << ", " << LogSourceName(record.source) << ", \"" << record.message
      << "\"}";
}

// Installs a sink that records everything, and always restores the default
// sink afterwards so no test sees another test's sink.
class CompartmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogSink([this](const LogRecord& record) {
      records_.push_back({std::string(record.module), record.source, std::string(record.message)});
    });
  }
  void TearDown() override { SetLogSink(nullptr); }

  std::vector<CapturedRecord> records_;
};

// ---------------------------------------------------------------------------
// Every trap kind misbehave can produce, through both call paths.

enum class CallPath { kTyped, kDynamic };

void PrintTo(CallPath path, std::ostream* os) {
  *os << (path == CallPath::kTyped ? "typed" : "dynamic");
}

struct TrapCase {
  const char* export_name;
  std::vector<Value> args;
  TrapKind kind;
  const char* function;            // module function the trap names
  std::optional<uint64_t> offset;  // window offset, for memory faults
  int32_t exit_code = 0;
};

const TrapCase kTrapCases[] = {
    {"out_of_bounds_load", {}, TrapKind::kOutOfBounds, "out_of_bounds_load", 0xfffffff0u},
    {"out_of_bounds_store", {Value::I32(static_cast<int32_t>(0xfffffff0u))}, TrapKind::kOutOfBounds,
     "out_of_bounds_store", 0xfffffff0u},
    {"unreachable", {}, TrapKind::kUnreachable, "unreachable", std::nullopt},
    {"abort_now", {}, TrapKind::kUnreachable, "abort_now", std::nullopt},
    {"divide_by_zero", {}, TrapKind::kDivideByZero, "divide_by_zero", std::nullopt},
    {"integer_overflow", {}, TrapKind::kIntegerOverflow, "integer_overflow", std::nullopt},
    {"invalid_conversion", {}, TrapKind::kInvalidConversion, "invalid_conversion", std::nullopt},
    {"conversion_overflow", {}, TrapKind::kIntegerOverflow, "conversion_overflow", std::nullopt},
    {"indirect_call_mismatch", {}, TrapKind::kIndirectCallMismatch, "indirect_call_mismatch",
     std::nullopt},
    {"null_call", {}, TrapKind::kIndirectCallMismatch, "null_call", std::nullopt},
    {"stack_overflow", {}, TrapKind::kStackExhausted, "recurse", std::nullopt},
    // An exit is reported at the import the module called to stop.
    {"exit_with", {Value::I32(7)}, TrapKind::kExit, "wasi_snapshot_preview1.proc_exit",
     std::nullopt, 7},
};

void PrintTo(const TrapCase& test_case, std::ostream* os) { *os << test_case.export_name; }

// What a call came back with, whatever the export's C++ signature.
struct Outcome {
  bool ok = false;
  std::optional<Trap> trap;
  Status status;
};

template <typename T>
Outcome OutcomeOf(const Result<T>& result) {
  Outcome outcome;
  outcome.ok = result.ok();
  if (result.trapped()) outcome.trap = result.trap();
  if (result.failed()) outcome.status = result.status();
  return outcome;
}

// Calls through the typed fast path (the signatures misbehave's trap exports
// have) or through CallDynamic.
Outcome CallTrapCase(Compartment& compartment, const TrapCase& test_case, CallPath path) {
  if (path == CallPath::kDynamic) {
    return OutcomeOf(compartment.CallDynamic(test_case.export_name, test_case.args));
  }
  const std::string name = test_case.export_name;
  if (name == "out_of_bounds_store" || name == "exit_with") {
    return OutcomeOf(compartment.Call<void(int32_t)>(name, test_case.args[0].i32()));
  }
  if (name == "unreachable" || name == "abort_now") {
    return OutcomeOf(compartment.Call<void()>(name));
  }
  return OutcomeOf(compartment.Call<int32_t()>(name));
}

class TrapKindTest : public CompartmentTest,
                     public ::testing::WithParamInterface<std::tuple<TrapCase, CallPath>> {};

TEST_P(TrapKindTest, TrapIsContainedAndTheNextCallRunsOnAFreshInstance) {
  const auto& [test_case, path] = GetParam();
  if (test_case.kind == TrapKind::kOutOfBounds || test_case.kind == TrapKind::kStackExhausted) {
    RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  }
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")));
  // Give the instance some state, so a fresh one is recognisable.
  ASSERT_EQ(compartment->Call<int32_t()>("calls").value(), 1);
  ASSERT_EQ(compartment->Call<int32_t()>("calls").value(), 2);

  Outcome outcome = CallTrapCase(*compartment, test_case, path);
  ASSERT_TRUE(outcome.trap.has_value())
      << "expected a trap; ok=" << outcome.ok << " status=" << outcome.status.ToString();
  const Trap& trap = *outcome.trap;
  EXPECT_EQ(trap.kind, test_case.kind) << trap.ToString();
  EXPECT_EQ(trap.module, "misbehave");
  EXPECT_EQ(trap.export_name, test_case.export_name);
  EXPECT_EQ(trap.function, test_case.function) << trap.ToString();
  EXPECT_EQ(trap.offset, test_case.offset) << trap.ToString();
  EXPECT_EQ(trap.exit_code, test_case.exit_code);
  EXPECT_THAT(trap.ToString(), HasSubstr(std::string(TrapKindName(test_case.kind))));
  EXPECT_THAT(trap.ToString(), HasSubstr(std::string("misbehave.") + test_case.export_name));

  // The instance is gone at once...
  EXPECT_EQ(compartment->state(), Compartment::State::kDead);
  ASSERT_TRUE(compartment->last_trap().has_value());
  EXPECT_EQ(compartment->last_trap()->kind, test_case.kind);
  EXPECT_EQ(compartment->last_trap()->export_name, test_case.export_name);

  // ...and the next call runs on a fresh one: its call counter starts again.
  Result<int32_t> calls = compartment->Call<int32_t()>("calls");
  ASSERT_TRUE(calls.ok());
  EXPECT_EQ(calls.value(), 1);
  EXPECT_EQ(compartment->state(), Compartment::State::kReady);
  EXPECT_EQ(compartment->restart_count(), 1u);
  EXPECT_EQ(compartment->Call<int32_t()>("alive").value(), 1);

  // The same trap again, on the fresh instance: a restarted compartment
  // still catches faults.
  Outcome again = CallTrapCase(*compartment, test_case, path);
  ASSERT_TRUE(again.trap.has_value());
  EXPECT_EQ(again.trap->kind, test_case.kind);
  EXPECT_EQ(compartment->Call<int32_t()>("alive").value(), 1);
  EXPECT_EQ(compartment->restart_count(), 2u);
}

INSTANTIATE_TEST_SUITE_P(
    Misbehave, TrapKindTest,
    ::testing::Combine(::testing::ValuesIn(kTrapCases),
                       ::testing::Values(CallPath::kTyped, CallPath::kDynamic)),
    [](const ::testing::TestParamInfo<TrapKindTest::ParamType>& info) {
      return std::string(std::get<0>(info.param).export_name) +
             (std::get<1>(info.param) == CallPath::kTyped ? "_Typed" : "_Dynamic");
    });

// exit() prints before it stops: that output is not lost with the instance.
TEST_F(CompartmentTest, ExitCodeAndItsOutputReachTheHost) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")));
  Result<void> result = compartment->Call<void(int32_t)>("exit_with", 42);
  ASSERT_TRUE(result.trapped());
  EXPECT_EQ(result.trap().kind, TrapKind::kExit);
  EXPECT_EQ(result.trap().exit_code, 42);
  EXPECT_THAT(result.trap().ToString(), HasSubstr("code 42"));
  EXPECT_THAT(records_, ::testing::Contains(CapturedRecord{"misbehave", LogSource::kStdout,
                                                           "exiting with 42"}));
}

// ---------------------------------------------------------------------------
// Restart bookkeeping and state reset.

TEST_F(CompartmentTest, RestartCountAndLastTrapFollowTraps) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
  EXPECT_EQ(compartment->state(), Compartment::State::kReady);
  EXPECT_EQ(compartment->restart_count(), 0u);
  EXPECT_FALSE(compartment->last_trap().has_value());

  ASSERT_TRUE(compartment->Call<int32_t(int32_t, int32_t)>("divide", 1, 0).trapped());
  // Restarting is lazy: the count moves when the next call makes the instance.
  EXPECT_EQ(compartment->restart_count(), 0u);
  ASSERT_TRUE(compartment->last_trap().has_value());
  EXPECT_EQ(compartment->last_trap()->kind, TrapKind::kDivideByZero);
  EXPECT_EQ(compartment->last_trap()->export_name, "divide");
  EXPECT_EQ(compartment->last_trap()->module, "calc");

  EXPECT_EQ(compartment->Call<int32_t(int32_t, int32_t)>("divide", 9, 3).value(), 3);
  EXPECT_EQ(compartment->restart_count(), 1u);
  // A successful call does not clear the record of the last trap.
  EXPECT_EQ(compartment->last_trap()->kind, TrapKind::kDivideByZero);

  ASSERT_TRUE(compartment->Restart().ok());
  EXPECT_EQ(compartment->restart_count(), 2u);
  EXPECT_EQ(compartment->state(), Compartment::State::kReady);
}

TEST_F(CompartmentTest, InstanceStateIsResetByATrap) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
  auto count = compartment->GetExport<int32_t()>("count").value();
  EXPECT_EQ(count().value(), 1);
  EXPECT_EQ(count().value(), 2);
  ASSERT_TRUE(compartment->Call<int32_t(int32_t, int32_t)>("divide", 1, 0).trapped());
  // A TypedExport taken before the trap stays valid across the restart.
  EXPECT_EQ(count().value(), 1);
  EXPECT_EQ(count().value(), 2);
}

TEST_F(CompartmentTest, InstanceStateIsResetByRestart) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
  EXPECT_EQ(compartment->Call<int32_t()>("count").value(), 1);
  EXPECT_EQ(compartment->Call<int32_t()>("count").value(), 2);
  ASSERT_TRUE(compartment->Restart().ok());
  EXPECT_EQ(compartment->Call<int32_t()>("count").value(), 1);
}

// Memory the trapped instance wrote is back to its pristine image.
TEST_F(CompartmentTest, MemoryIsPristineAfterATrap) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
  uint32_t buffer = static_cast<uint32_t>(compartment->Call<int32_t()>("buffer").value());
  ASSERT_TRUE(compartment->window().CopyIn(buffer, "dirty").ok());
  ASSERT_TRUE(compartment->Call<int32_t(int32_t, int32_t)>("divide", 1, 0).trapped());
  EXPECT_EQ(compartment->window().size(), 0u) << "a dead compartment has no memory to show";
  ASSERT_TRUE(compartment->Call<int32_t()>("count").ok());
  StatusOr<std::vector<uint8_t>> bytes = compartment->window().CopyOut(buffer, 5);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, std::vector<uint8_t>(5, 0));
}

// Two compartments of one module share code, never state or fate.
TEST_F(CompartmentTest, CompartmentsOfOneModuleAreIndependent) {
  auto module = LoadOrDie(ExampleModulePath("calc"));
  auto first = CreateOrDie(module);
  auto second = CreateOrDie(module);
  EXPECT_EQ(first->Call<int32_t()>("count").value(), 1);
  EXPECT_EQ(first->Call<int32_t()>("count").value(), 2);
  EXPECT_EQ(second->Call<int32_t()>("count").value(), 1);
  ASSERT_TRUE(second->Call<int32_t(int32_t, int32_t)>("divide", 1, 0).trapped());
  EXPECT_EQ(first->state(), Compartment::State::kReady);
  EXPECT_EQ(first->Call<int32_t()>("count").value(), 3);
  EXPECT_EQ(second->Call<int32_t()>("count").value(), 1);
}

// ---------------------------------------------------------------------------
// Window access.

TEST_F(CompartmentTest, WindowCopiesThroughTheModuleBuffer) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
  Window window = compartment->window();
  uint32_t buffer = static_cast<uint32_t>(compartment->Call<int32_t()>("buffer").value());
  EXPECT_EQ(compartment->Call<int32_t()>("buffer_size").value(), 4096);
  ASSERT_GT(window.size(), buffer + 4096u);

  ASSERT_TRUE(window.CopyIn(buffer, "Hello, World").ok());
  EXPECT_EQ(compartment->Call<int32_t(int32_t)>("to_upper", 12).value(), 8);
  StatusOr<std::string> upper = window.CopyOutString(buffer, 12);
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(*upper, "HELLO, WORLD");

  ASSERT_TRUE(window.CopyIn(buffer, "world").ok());
  Result<int32_t> length = compartment->Call<int32_t(int32_t)>("greet", 5);
  ASSERT_TRUE(length.ok());
  EXPECT_EQ(length.value(), 12);
  EXPECT_EQ(window.CopyOutString(buffer, 12).value(), "hello, world");

  // Typed reads and writes see the module's own bytes.
  ASSERT_TRUE(window.Write<uint32_t>(buffer, 0x64636261u).ok());  // "abcd"
  EXPECT_EQ(compartment->Call<int32_t(int32_t)>("reverse", 4).value(), 4);
  StatusOr<Tainted<uint32_t>> reversed = window.Read<uint32_t>(buffer);
  ASSERT_TRUE(reversed.ok());
  EXPECT_EQ(reversed->UncheckedValue(), 0x61626364u);  // "dcba"
  EXPECT_EQ(reversed->Verify([](uint32_t v) { return v == 0x61626364u; }), 0x61626364u);
  EXPECT_EQ(reversed->Verify([](uint32_t v) { return v == 0; }), std::nullopt);
}

TEST_F(CompartmentTest, OutOfRangeWindowAccessIsRefusedAndWritesNothing) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
  Window window = compartment->window();
  const uint64_t size = window.size();
  ASSERT_GT(size, 0u);
  ASSERT_EQ(size % 65536, 0u);

  // The last two bytes, set to a known pattern.
  const std::vector<uint8_t> tail = {0x5a, 0xa5};
  ASSERT_TRUE(window.CopyIn(size - 2, tail).ok());
  const std::vector<uint8_t> four = {1, 2, 3, 4};

  struct Range {
    uint64_t offset;
    uint64_t length;
  };
  const Range kBadRanges[] = {
      {size - 2, 4},               // straddles the end
      {size, 1},                   // starts at the end
      {size + 65536, 1},           // beyond the end, inside the window's guard
      {0xfffffff0u, 4},            // the top of the 4 GiB range
      {UINT64_MAX - 1, 4},         // offset + length wraps around
      {0, size + 1},               // longer than the memory
      {1, UINT64_MAX},             // length wraps the sum
  };
  for (const Range& range : kBadRanges) {
    SCOPED_TRACE(::testing::Message() << "offset " << range.offset << " length " << range.length);
    std::vector<uint8_t> bytes(std::min<uint64_t>(range.length, 4), 0xee);
    if (range.length <= 4) {
      Status written = window.CopyIn(range.offset, std::span(bytes.data(), range.length));
      EXPECT_EQ(written.code(), StatusCode::kInvalidArgument) << written.ToString();
      EXPECT_THAT(written.message(), HasSubstr("outside the memory of calc"));
    }
    EXPECT_EQ(window.CopyOut(range.offset, range.length).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(window.CopyOutString(range.offset, range.length).status().code(),
              StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(window.Read<uint32_t>(size - 3).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(window.Write<uint32_t>(size - 3, 0xdeadbeefu).code(), StatusCode::kInvalidArgument);

  // None of the refused writes touched the bytes that were in range.
  StatusOr<std::vector<uint8_t>> after = window.CopyOut(size - 2, 2);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, tail);
  // Empty ranges at the end are fine: nothing is outside.
  EXPECT_TRUE(window.CopyIn(size, std::span<const uint8_t>()).ok());
  EXPECT_TRUE(window.CopyOut(size, 0).ok());
}

TEST_F(CompartmentTest, WindowOfADeadCompartmentRefusesAccess) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
  ASSERT_TRUE(compartment->Call<int32_t(int32_t, int32_t)>("divide", 1, 0).trapped());
  Window window = compartment->window();
  EXPECT_EQ(window.size(), 0u);
  EXPECT_EQ(window.CopyIn(1024, "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(window.CopyOut(1024, 1).status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Export lookup and typing.

TEST_F(CompartmentTest, GetExportReportsUnknownNames) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
  StatusOr<TypedExport<int32_t(int32_t, int32_t)>> missing =
      compartment->GetExport<int32_t(int32_t, int32_t)>("modulo");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("calc"));
  EXPECT_THAT(missing.status().message(), HasSubstr("'modulo'"));
  // The message lists what does exist.
  EXPECT_THAT(missing.status().message(), HasSubstr("add"));

  Result<int32_t> called = compartment->Call<int32_t(int32_t, int32_t)>("modulo", 1, 2);
  ASSERT_TRUE(called.failed());
  EXPECT_EQ(called.status().code(), StatusCode::kNotFound);
  // A failed lookup is not a trap: the instance lives on.
  EXPECT_EQ(compartment->state(), Compartment::State::kReady);
  EXPECT_FALSE(compartment->last_trap().has_value());
}

TEST_F(CompartmentTest, GetExportReportsSignatureMismatches) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
  StatusOr<TypedExport<int32_t(int32_t)>> fewer = compartment->GetExport<int32_t(int32_t)>("add");
  ASSERT_FALSE(fewer.ok());
  EXPECT_EQ(fewer.status().code(), StatusCode::kSignatureMismatch);
  EXPECT_THAT(fewer.status().message(), HasSubstr("calc.add"));
  EXPECT_THAT(fewer.status().message(), HasSubstr("(i32, i32) -> i32"));
  EXPECT_THAT(fewer.status().message(), HasSubstr("(i32) -> i32"));

  // Same parameters, different result type.
  auto wider = compartment->GetExport<int64_t(int32_t, int32_t)>("add");
  ASSERT_FALSE(wider.ok());
  EXPECT_EQ(wider.status().code(), StatusCode::kSignatureMismatch);
  // Same count, different parameter types.
  auto floats = compartment->GetExport<double(float, float)>("average");
  ASSERT_FALSE(floats.ok());
  EXPECT_EQ(floats.status().code(), StatusCode::kSignatureMismatch);
  EXPECT_THAT(floats.status().message(), HasSubstr("(f64, f64) -> f64"));
  // A result where there is none... and none where there is one.
  EXPECT_EQ(compartment->GetExport<void(int32_t)>("to_upper").status().code(),
            StatusCode::kSignatureMismatch);
  // Signedness is not part of a wasm type.
  EXPECT_TRUE((compartment->GetExport<uint32_t(uint32_t, uint32_t)>("add").ok()));
}

TEST_F(CompartmentTest, CallDynamicChecksArguments) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
  const Value two_i32[] = {Value::I32(20), Value::I32(22)};
  Result<std::optional<Value>> sum = compartment->CallDynamic("add", two_i32);
  ASSERT_TRUE(sum.ok());
  ASSERT_TRUE(sum.value().has_value());
  EXPECT_EQ(*sum.value(), Value::I32(42));

  const Value one_i32[] = {Value::I32(1)};
  Result<std::optional<Value>> too_few = compartment->CallDynamic("add", one_i32);
  ASSERT_TRUE(too_few.failed());
  EXPECT_EQ(too_few.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(too_few.status().message(), HasSubstr("(i32, i32) -> i32"));

  const Value three_i32[] = {Value::I32(1), Value::I32(2), Value::I32(3)};
  EXPECT_EQ(compartment->CallDynamic("add", three_i32).status().code(),
            StatusCode::kInvalidArgument);

  const Value wrong_type[] = {Value::I32(1), Value::I64(2)};
  EXPECT_EQ(compartment->CallDynamic("add", wrong_type).status().code(),
            StatusCode::kInvalidArgument);
  const Value f32_for_f64[] = {Value::F32(1), Value::F32(2)};
  EXPECT_EQ(compartment->CallDynamic("average", f32_for_f64).status().code(),
            StatusCode::kInvalidArgument);

  EXPECT_EQ(compartment->CallDynamic("nope", {}).status().code(), StatusCode::kNotFound);
  // None of that ran the module or cost its instance.
  EXPECT_EQ(compartment->Call<int32_t()>("count").value(), 1);
  EXPECT_EQ(compartment->restart_count(), 0u);
}

// Wide and floating-point values cross the gate bit-exact, both ways.
TEST_F(CompartmentTest, FloatAndWideValuesAreExact) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
  EXPECT_EQ(compartment->Call<double(double, double)>("average", 1.5, 2.25).value(), 1.875);
  EXPECT_EQ(compartment->Call<double(double, double)>("average", 1e300, 1e300).value(),
            (1e300 + 1e300) / 2);  // inf, as in wasm
  // 0.1f * 3.0f in float differs from the double product rounded to float.
  volatile float tenth = 0.1f;
  const float expected_scale = tenth * 3.0f;
  EXPECT_EQ(compartment->Call<float(float, float)>("scale", 0.1f, 3.0f).value(), expected_scale);
  EXPECT_EQ(compartment->Call<float(float, float)>("scale", -2.5f, 4.0f).value(), -10.0f);

  // Values whose high 32 bits matter.
  EXPECT_EQ(compartment->Call<int64_t(int64_t, int64_t)>("multiply", 0x100000001, 3).value(),
            0x300000003);
  EXPECT_EQ(compartment->Call<int64_t(int64_t, int64_t)>("multiply", -(int64_t{1} << 40), 1000)
                .value(),
            -(int64_t{1} << 40) * 1000);
  EXPECT_EQ(compartment->Call<int32_t(int32_t, int32_t)>("subtract", INT32_MIN, 1).value(),
            INT32_MAX);  // wraps, as wasm does

  // The same through CallDynamic's 64-bit slots.
  const Value doubles[] = {Value::F64(0.1), Value::F64(0.2)};
  EXPECT_EQ(compartment->CallDynamic("average", doubles).value(), Value::F64((0.1 + 0.2) / 2));
  const Value floats[] = {Value::F32(0.1f), Value::F32(3.0f)};
  EXPECT_EQ(compartment->CallDynamic("scale", floats).value(), Value::F32(expected_scale));
  const Value wide[] = {Value::I64(0x123456789), Value::I64(-2)};
  EXPECT_EQ(compartment->CallDynamic("multiply", wide).value(), Value::I64(-0x2468ACF12));
  const Value negative[] = {Value::I32(-5), Value::I32(3)};
  EXPECT_EQ(compartment->CallDynamic("add", negative).value(), Value::I32(-2));
}

// ---------------------------------------------------------------------------
// Memory limits.

TEST_F(CompartmentTest, MemoryGrowthStopsAtTheLimit) {
  constexpr uint64_t kLimit = uint64_t{16} << 20;
  auto compartment =
      CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")), {.memory_limit_bytes = kLimit});
  Result<int32_t> blocks = compartment->Call<int32_t()>("allocate_until_refused");
  ASSERT_TRUE(blocks.ok()) << (blocks.trapped() ? blocks.trap().ToString() : "");
  EXPECT_GT(blocks.value(), 0) << "growth below the limit must work";
  EXPECT_LT(blocks.value(), 16);
  EXPECT_LE(compartment->window().size(), kLimit);
  EXPECT_GT(compartment->window().size(), kLimit / 2);
  // Refused growth is not a fault: the same instance serves the next call.
  EXPECT_EQ(compartment->state(), Compartment::State::kReady);
  EXPECT_EQ(compartment->Call<int32_t()>("alive").value(), 1);
  EXPECT_EQ(compartment->restart_count(), 0u);
}

TEST_F(CompartmentTest, InitialMemoryOverTheLimitFailsCreate) {
  auto module = LoadOrDie(TestModulePath("lib_big_memory"));
  StatusOr<std::unique_ptr<Compartment>> small =
      Compartment::Create(module, {.memory_limit_bytes = uint64_t{8} << 20});
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().code(), StatusCode::kInstantiateFailed);
  EXPECT_THAT(small.status().message(), HasSubstr("memory-limit"));
  EXPECT_THAT(small.status().message(), HasSubstr("lib_big_memory"));

  // The module itself is fine: under the default limit it runs.
  auto roomy = CreateOrDie(module);
  EXPECT_EQ(roomy->Call<int32_t(int32_t)>("touch", (32 << 20) - 1).value(), 0x7f);
  EXPECT_GE(roomy->window().size(), uint64_t{32} << 20);
}

// ---------------------------------------------------------------------------
// Module output.

TEST_F(CompartmentTest, StdoutAndRfLogReachTheSinkTagged) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
  uint32_t buffer = static_cast<uint32_t>(compartment->Call<int32_t()>("buffer").value());
  ASSERT_TRUE(compartment->window().CopyIn(buffer, "sink").ok());
  ASSERT_EQ(compartment->Call<int32_t(int32_t)>("greet", 4).value(), 11);
  EXPECT_THAT(records_, ::testing::ElementsAre(
                            CapturedRecord{"calc", LogSource::kStdout, "hello, sink"},
                            CapturedRecord{"calc", LogSource::kInfo, "greeted someone"}));
}

TEST_F(CompartmentTest, OutputIsSplitIntoOneRecordPerLine) {
  auto compartment = CreateOrDie(LoadOrDie(TestModulePath("lib_chatty")));
  ASSERT_EQ(compartment->Call<int32_t()>("print_lines").value(), 3);
  ASSERT_EQ(compartment->Call<int32_t()>("print_stderr").value(), 1);
  // A line written in two calls is one record, delivered when it ends.
  ASSERT_EQ(compartment->Call<int32_t()>("print_start").value(), 0);
  const size_t before_end = records_.size();
  ASSERT_EQ(compartment->Call<int32_t()>("print_end").value(), 0);
  EXPECT_EQ(before_end, 4u) << "a partial line must wait for its newline";
  ASSERT_EQ(compartment->Call<int32_t()>("log_levels").value(), 4);
  const std::string module = "lib_chatty";
  EXPECT_THAT(records_, ::testing::ElementsAre(
                            CapturedRecord{module, LogSource::kStdout, "one"},
                            CapturedRecord{module, LogSource::kStdout, "two"},
                            CapturedRecord{module, LogSource::kStdout, "three"},
                            CapturedRecord{module, LogSource::kStderr, "to stderr"},
                            CapturedRecord{module, LogSource::kStdout, "first half, second half"},
                            CapturedRecord{module, LogSource::kDebug, "debug message"},
                            CapturedRecord{module, LogSource::kInfo, "info message"},
                            CapturedRecord{module, LogSource::kWarn, "warn message"},
                            CapturedRecord{module, LogSource::kError, "error message"}));
}

// A log message outside the module's memory is the module's mistake: dropped,
// and the module carries on.
TEST_F(CompartmentTest, LogWithABadPointerIsDropped) {
  auto compartment = CreateOrDie(LoadOrDie(TestModulePath("lib_chatty")));
  Result<int32_t> result = compartment->Call<int32_t()>("log_bad_pointer");
  ASSERT_TRUE(result.ok()) << (result.trapped() ? result.trap().ToString() : "");
  EXPECT_EQ(result.value(), 7);
  EXPECT_THAT(records_, ::testing::ElementsAre(
                            CapturedRecord{"lib_chatty", LogSource::kInfo, "still here"}));
}

// Overflowing the shadow stack (in module memory) is an out-of-bounds trap.
TEST_F(CompartmentTest, ShadowStackOverflowIsAnOutOfBoundsTrap) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")));
  ASSERT_EQ(compartment->Call<int32_t()>("calls").value(), 1);
  Result<int32_t> result = compartment->Call<int32_t()>("shadow_stack_overflow");
  ASSERT_TRUE(result.trapped());
  EXPECT_EQ(result.trap().kind, TrapKind::kOutOfBounds) << result.trap().ToString();
}

// A huge write is taken in part (WASI allows it; libc writes the rest), so a
// module can never make the host hold more than a bounded amount at once.
TEST_F(CompartmentTest, HugeWriteIsTakenInBoundedParts) {
  auto compartment = CreateOrDie(LoadOrDie(TestModulePath("lib_chatty")));
  Result<int32_t> written = compartment->Call<int32_t(int32_t)>("write_big", 4 << 20);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written.value(), 64 * 1024);
  ASSERT_TRUE(compartment->Restart().ok());  // flushes the unterminated line
  size_t delivered = 0;
  for (const CapturedRecord& record : records_) delivered += record.message.size();
  EXPECT_EQ(delivered, 64u * 1024) << "the partial write reached the log whole";
}

TEST_F(CompartmentTest, PartialLineBeforeATrapIsDelivered) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")));
  Result<void> result = compartment->Call<void()>("print_then_trap");
  ASSERT_TRUE(result.trapped());
  EXPECT_EQ(result.trap().kind, TrapKind::kUnreachable);
  EXPECT_THAT(records_, ::testing::ElementsAre(
                            CapturedRecord{"misbehave", LogSource::kStdout, "about to fail"}));
  // The fragment went with the dead instance: it does not prefix later output.
  records_.clear();
  ASSERT_TRUE(compartment->Call<void(int32_t)>("exit_with", 3).trapped());
  EXPECT_THAT(records_, ::testing::ElementsAre(
                            CapturedRecord{"misbehave", LogSource::kStdout, "exiting with 3"}));
}

TEST_F(CompartmentTest, ResettingTheSinkStopsDelivery) {
  auto compartment = CreateOrDie(LoadOrDie(TestModulePath("lib_chatty")));
  SetLogSink(nullptr);  // back to the default (stderr)
  ASSERT_EQ(compartment->Call<int32_t()>("log_levels").value(), 4);
  EXPECT_TRUE(records_.empty());
}

// ---------------------------------------------------------------------------
// A C++ module with the standard library.

TEST_F(CompartmentTest, StlModuleSortsWords) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("stl")));
  uint32_t buffer = static_cast<uint32_t>(compartment->Call<int32_t()>("buffer").value());
  const std::string text = "pear apple fig banana apple";
  ASSERT_TRUE(compartment->window().CopyIn(buffer, text).ok());
  EXPECT_EQ(compartment->Call<int32_t(int32_t)>("distinct_words",
                                                static_cast<int32_t>(text.size()))
                .value(),
            4);
  Result<int32_t> length =
      compartment->Call<int32_t(int32_t)>("sort_words", static_cast<int32_t>(text.size()));
  ASSERT_TRUE(length.ok());
  ASSERT_EQ(length.value(), static_cast<int32_t>(text.size()));
  EXPECT_EQ(compartment->window().CopyOutString(buffer, text.size()).value(),
            "apple apple banana fig pear");
}

TEST_F(CompartmentTest, StlModuleKeepsNumbersUntilRestart) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("stl")));
  auto push = compartment->GetExport<int32_t(int64_t)>("push").value();
  int32_t size = 0;
  for (int64_t value : {int64_t{10}, int64_t{1}, int64_t{5000000000}, int64_t{3}}) {
    size = push(value).value();
  }
  EXPECT_EQ(size, 4);
  EXPECT_EQ(compartment->Call<int64_t()>("sum").value(), 5000000014);
  EXPECT_EQ(compartment->Call<double()>("median").value(), 6.5);
  ASSERT_EQ(push(4).value(), 5);
  EXPECT_EQ(compartment->Call<double()>("median").value(), 4.0);

  uint32_t buffer = static_cast<uint32_t>(compartment->Call<int32_t()>("buffer").value());
  Result<int32_t> described = compartment->Call<int32_t()>("describe");
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(compartment->window().CopyOutString(buffer, described.value()).value(),
            "numbers=5 sum=5000000018");
  EXPECT_THAT(records_, ::testing::Contains(CapturedRecord{"stl", LogSource::kStdout,
                                                           "numbers=5 sum=5000000018"}));

  ASSERT_TRUE(compartment->Restart().ok());
  EXPECT_EQ(compartment->Call<int64_t()>("sum").value(), 0);
  EXPECT_EQ(compartment->Call<double()>("median").value(), 0.0);
}

}  // namespace
}  // namespace ringfence
