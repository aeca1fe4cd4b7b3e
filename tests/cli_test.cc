// The ringfence CLI as users meet it: the real binary run as a subprocess,
// judged by its stdout, stderr and exit status (0 ok, 2 usage/load error,
// 3 trap).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/cli_runner.h"
#include "tests/test_support.h"
#include "tools/ringfence/value_text.h"

namespace ringfence {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using testing::ExampleModulePath;
using testing::TestModulePath;

using testing::CliResult;
using testing::RunCli;
using testing::kExitOk;
using testing::kExitTrap;
using testing::kExitUsage;
using testing::Lines;
using testing::TempDir;

const std::string& Calc() {
  static const std::string path = ExampleModulePath("calc");
  return path;
}
const std::string& Misbehave() {
  static const std::string path = ExampleModulePath("misbehave");
  return path;
}
const std::string& CalcNative() {
  static const std::string path = ExampleModulePath("calc_native");
  return path;
}
const std::string& MisbehaveNative() {
  static const std::string path = ExampleModulePath("misbehave_native");
  return path;
}
const std::string& Values() {
  static const std::string path = TestModulePath("cli_values");
  return path;
}


// ------------------------------------------------------------- help, usage

TEST(CliTest, TopLevelHelpListsSubcommands) {
  CliResult result = RunCli({"--help"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(result.out, AllOf(HasSubstr("build"), HasSubstr("call"), HasSubstr("inspect")));
}

TEST(CliTest, CallHelpDescribesOptionsAndExitCodes) {
  CliResult result = RunCli({"call", "--help"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(result.out, AllOf(HasSubstr("--memory-limit"), HasSubstr("3 trap")));
}

TEST(CliTest, BuildHelpDescribesOptions) {
  CliResult result = RunCli({"build", "--help"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(result.out, AllOf(HasSubstr("--output"), HasSubstr("--name"), HasSubstr(".wasm")));
}

TEST(CliTest, UsageErrorsExitTwo) {
  const std::vector<std::vector<std::string>> command_lines = {
      {},                                  // no subcommand
      {"frobnicate"},                      // unknown subcommand
      {"--bogus"},                         // unknown option
      {"call", "--bogus", Calc(), "add"},  // unknown option of a subcommand
      {"call"},                            // missing module and export
      {"call", Calc()},                    // missing export
      {"inspect"},                         // missing module
      {"build", "x.c"},                    // missing -o
      {"call", "--memory-limit", "0", Calc(), "add", "1", "2"},     // below range
      {"call", "--memory-limit", "5000", Calc(), "add", "1", "2"},  // above range
      {"call", "--memory-limit", "lots", Calc(), "add", "1", "2"},  // not a number
      {"call", "--timeout-ms", "-1", Calc(), "add", "1", "2"},      // negative
      {"call", "--timeout-ms", "soon", Calc(), "add", "1", "2"},    // not a number
      {"call", "--isolation", "vm", Calc(), "add", "1", "2"},       // no such backend
      {"demo", "--isolation", "vm", "--duration", "60"},            // no such backend
      {"demo", "--tour", "--isolation", "process"},                 // the tour is wasm-only
  };
  for (const std::vector<std::string>& args : command_lines) {
    SCOPED_TRACE(fmt::format("ringfence {}", fmt::join(args, " ")));
    CliResult result = RunCli(args);
    EXPECT_EQ(result.exit_code, kExitUsage) << result;
    EXPECT_THAT(result.err, Not(IsEmpty())) << "a usage error must say what is wrong";
    EXPECT_THAT(result.out, IsEmpty());
  }
}

// ------------------------------------------------------------ one call

TEST(CliTest, CallPrintsResult) {
  CliResult result = RunCli({"call", Calc(), "add", "2", "3"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "5\n");
  EXPECT_EQ(result.err, "");
}

TEST(CliTest, CallTakesNegativeAndWideArguments) {
  CliResult result = RunCli({"call", Calc(), "subtract", "-5", "3"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "-8\n");

  result = RunCli({"call", Calc(), "multiply", "3000000000", "-3"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "-9000000000\n");

  // Unsigned spelling of -1, and hex.
  result = RunCli({"call", Calc(), "add", "4294967295", "0x10"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "15\n");

  result = RunCli({"call", Calc(), "average", "-1.5", "2.5e0"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "0.5\n");
}

// '--' conventionally ends options (POSIX utility guideline 10), and before
// call_command.cc took everything after MODULE as positional it was the only
// way to pass "-inf"; scripts written that way must keep working.
TEST(CliTest, CallArgumentsAfterDoubleDash) {
  CliResult result = RunCli({"call", Calc(), "average", "--", "-inf", "1"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "-inf\n");
  result = RunCli({"call", Calc(), "--", "subtract", "-5", "3"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "-8\n");
}

// Options still work before MODULE, and '--' there still ends them.
TEST(CliTest, OptionsBeforeModuleAndDoubleDashBeforeModule) {
  CliResult result = RunCli({"call", "--memory-limit", "8", Calc(), "subtract", "-5", "3"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "-8\n");
  result = RunCli({"call", "--", Calc(), "add", "-1", "-2"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "-3\n");
}

// Float arguments that start with '-' but not with a digit ("-inf", "-.5")
// look like short options to CLI11; after MODULE they must be arguments.
TEST(CliTest, CallTakesNegativeSpecialFloats) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-inf", "1"}, "-inf\n"}, {{"-.5", "1"}, "0.25\n"}, {{"1", "-infinity"}, "-inf\n"}};
  for (const auto& [args, expected] : cases) {
    std::vector<std::string> command = {"call", Calc(), "average"};
    command.insert(command.end(), args.begin(), args.end());
    CliResult result = RunCli(command);
    EXPECT_EQ(result.exit_code, kExitOk) << result;
    EXPECT_EQ(result.out, expected);
  }
}

TEST(CliTest, CallFloatsAndI64) {
  CliResult result = RunCli({"call", Calc(), "scale", "1.5", "0.1"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "0.15\n");  // f32 shortest, not 0.15000000596046448
  result = RunCli({"call", Calc(), "average", "0.1", "0.2"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "0.15000000000000002\n");
}

TEST(CliTest, CallTrapPrintsOneTrapLineAndExitsThree) {
  CliResult result = RunCli({"call", Calc(), "divide", "7", "0"});
  EXPECT_EQ(result.exit_code, kExitTrap) << result;
  EXPECT_EQ(result.out, "");
  std::vector<std::string> lines = Lines(result.err);
  ASSERT_EQ(lines.size(), 1u) << result;
  EXPECT_THAT(lines[0], StartsWith("trap: divide-by-zero"));
  EXPECT_THAT(lines[0], HasSubstr("calc.divide"));
  EXPECT_THAT(lines[0], HasSubstr("(function divide)"));
}

TEST(CliTest, CallTrapKindsAreNamed) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"unreachable", "trap: unreachable in misbehave.unreachable"},
      {"out_of_bounds_load", "trap: out-of-bounds in misbehave.out_of_bounds_load"},
      {"integer_overflow", "trap: integer-overflow in misbehave.integer_overflow"},
      {"stack_overflow", "trap: stack-exhausted in misbehave.stack_overflow"},
  };
  for (const auto& [name, expected] : cases) {
    CliResult result = RunCli({"call", Misbehave(), name});
    EXPECT_EQ(result.exit_code, kExitTrap) << result;
    EXPECT_THAT(result.err, StartsWith(expected)) << result;
    EXPECT_EQ(result.out, "");
  }
}

// Module output goes to stderr tagged with the module, never to stdout, so
// it cannot be mistaken for a result.
TEST(CliTest, ModuleOutputGoesToStderrBeforeTheTrap) {
  CliResult result = RunCli({"call", Misbehave(), "exit_with", "7"});
  EXPECT_EQ(result.exit_code, kExitTrap) << result;
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(Lines(result.err), ElementsAre("[misbehave] exiting with 7",
                                             StartsWith("trap: exit (code 7) in misbehave.exit_with")));
}

TEST(CliTest, CallErrorsExitTwoWithMessage) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"call", Calc(), "add", "1"}, "add takes 2 argument(s) (i32, i32) -> i32, got 1"},
      {{"call", Calc(), "add", "1", "2", "3"}, "got 3"},
      {{"call", Calc(), "add", "1", "two"}, "argument 2 of add: 'two' is not a valid i32"},
      {{"call", Calc(), "add", "1", "4294967296"}, "'4294967296' is not a valid i32"},
      {{"call", Calc(), "average", "1", "x"}, "'x' is not a valid f64"},
      {{"call", Calc(), "nosuch"}, "module calc has no export 'nosuch'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(c.args, " ")));
    CliResult result = RunCli(c.args);
    EXPECT_EQ(result.exit_code, kExitUsage) << result;
    EXPECT_EQ(result.out, "");
    EXPECT_THAT(result.err, AllOf(StartsWith("ringfence call: error: "), HasSubstr(c.message)));
    EXPECT_EQ(Lines(result.err).size(), 1u) << result;
  }
}

TEST(CliTest, MissingOrBrokenModuleFileExitsTwo) {
  TempDir dir;
  std::string text_file = dir.File("notes.rfm", "this is not a module\n");
  std::string empty_file = dir.File("empty.rfm", "");
  std::ifstream calc(Calc(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(calc)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  std::string truncated = dir.File("truncated.rfm", bytes.substr(0, bytes.size() / 2));
  std::string missing = (fs::temp_directory_path() / "ringfence-no-such-module.rfm").string();
  std::string directory = fs::path(text_file).parent_path().string();
  for (const std::string& path : {missing, text_file, empty_file, truncated, directory}) {
    SCOPED_TRACE(path);
    CliResult result = RunCli({"call", path, "add", "1", "2"});
    EXPECT_EQ(result.exit_code, kExitUsage) << result;
    EXPECT_EQ(result.out, "");
    EXPECT_THAT(result.err, StartsWith("ringfence call: error: ")) << result;
    result = RunCli({"inspect", path});
    EXPECT_EQ(result.exit_code, kExitUsage) << result;
    EXPECT_THAT(result.err, StartsWith("ringfence inspect: error: ")) << result;
  }
  // The message names the file that could not be read.
  EXPECT_THAT(RunCli({"call", missing, "add", "1", "2"}).err, HasSubstr(missing));
}

// ------------------------------------------------------- call MODULE -

TEST(CliTest, StdinProtocolOneLinePerInputLineInOrder) {
  const std::string input =
      "add 2 3\n"
      "count\n"
      "count\n"
      "nosuch 1\n"             // error: the instance lives on
      "count\n"
      "divide 1 0\n"           // trap: the instance restarts
      "count\n"
      "add 1\n"
      "add x 1\n"
      "\n"
      "   \t \n"
      "subtract -5 3\n"
      "average -inf 1\n"       // no CLI11 in the way here
      "scale 1.5 2\n"
      "multiply 3000000000 3\n"
      "  add   4    5  \n"     // extra spacing is fine
      "add 1 1";               // last line without a newline still counts
  CliResult result = RunCli({"call", Calc(), "-"}, input);
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 17u) << result;
  EXPECT_EQ(lines[0], "5");
  EXPECT_EQ(lines[1], "1");
  EXPECT_EQ(lines[2], "2");
  EXPECT_EQ(lines[3], "error: module calc has no export 'nosuch'");
  EXPECT_EQ(lines[4], "3");
  EXPECT_THAT(lines[5], StartsWith("trap: divide-by-zero in calc.divide"));
  EXPECT_EQ(lines[6], "1") << "count must restart after a trap";
  EXPECT_EQ(lines[7], "error: add takes 2 argument(s) (i32, i32) -> i32, got 1");
  EXPECT_EQ(lines[8], "error: argument 1 of add: 'x' is not a valid i32");
  EXPECT_THAT(lines[9], StartsWith("error: empty line"));
  EXPECT_THAT(lines[10], StartsWith("error: empty line"));
  EXPECT_EQ(lines[11], "-8");
  EXPECT_EQ(lines[12], "-inf");
  EXPECT_EQ(lines[13], "3");
  EXPECT_EQ(lines[14], "9000000000");
  EXPECT_EQ(lines[15], "9");
  EXPECT_EQ(lines[16], "2");
}

TEST(CliTest, StdinProtocolKeepsGoingAfterManyTraps) {
  std::string input;
  for (int i = 0; i < 20; ++i) input += "count\ncount\ndivide 1 0\n";
  CliResult result = RunCli({"call", Calc(), "-"}, input);
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 60u) << result;
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(lines[3 * i], "1");
    EXPECT_EQ(lines[3 * i + 1], "2");
    EXPECT_THAT(lines[3 * i + 2], StartsWith("trap: divide-by-zero"));
  }
}

TEST(CliTest, StdinProtocolVoidExportPrintsEmptyLine) {
  CliResult result = RunCli({"call", Values(), "-"}, "last\nremember 7\nlast\nremember -2\nlast\n");
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "-1\n\n7\n\n-2\n");
}

TEST(CliTest, VoidExportSingleCallPrintsEmptyLine) {
  CliResult result = RunCli({"call", Values(), "remember", "3"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "\n");
}

// Module output and trap lines in '-' mode: stdout carries only the one line
// per call; the module's own printing goes to stderr.
TEST(CliTest, StdinProtocolKeepsModuleOutputOffStdout) {
  CliResult result = RunCli({"call", Misbehave(), "-"}, "alive\nexit_with 4\nprint_then_trap\ncalls\n");
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(Lines(result.out),
              ElementsAre("1", StartsWith("trap: exit (code 4) in misbehave.exit_with"),
                          StartsWith("trap: unreachable in misbehave.print_then_trap"), "1"));
  EXPECT_THAT(result.err, AllOf(HasSubstr("[misbehave] exiting with 4"),
                                HasSubstr("[misbehave] about to fail")));
}

TEST(CliTest, StdinProtocolRefusesExtraArguments) {
  CliResult result = RunCli({"call", Calc(), "-", "add"}, "add 1 2\n");
  EXPECT_EQ(result.exit_code, kExitUsage) << result;
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("no arguments go with '-'"));
}

TEST(CliTest, StdinProtocolWithNoInputPrintsNothing) {
  CliResult result = RunCli({"call", Calc(), "-"});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_EQ(result.out, "");
}

// Every float result printed by the CLI parses back to the bits the module
// returned, and every float argument reaches the module bit for bit: NaN
// payloads (signalling ones too), denormals, -0, infinities.
TEST(CliTest, FloatResultsAndArgumentsKeepTheirBits) {
  std::vector<uint32_t> f32_bits = {0x00000000u, 0x80000000u, 0x00000001u, 0x807fffffu,
                                    0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00000u,
                                    0x7f800001u, 0x7fa00000u, 0xffbfffffu, 0x3dcccccdu};
  std::vector<uint64_t> f64_bits = {0x0000000000000000ull, 0x8000000000000000ull,
                                    0x0000000000000001ull, 0x7ff0000000000000ull,
                                    0xfff0000000000000ull, 0x7ff8000000000000ull,
                                    0xfff8000000000000ull, 0x7ff0000000000001ull,
                                    0x7ff4000000000000ull, 0xfff7ffffffffffffull,
                                    0x3fb999999999999aull};
  std::mt19937_64 random(77);
  for (int i = 0; i < 150; ++i) {
    uint64_t bits = random();
    f32_bits.push_back(static_cast<uint32_t>(bits));
    f32_bits.push_back(static_cast<uint32_t>(bits) | 0x7f800000u);  // NaN/inf
    f64_bits.push_back(bits);
    f64_bits.push_back(bits | 0x7ff0000000000000ull);
  }
  // Round 1: the module makes a float from bits; the CLI prints it.
  // Round 2: the CLI parses that text and passes it; the module returns its bits.
  std::string input;
  for (uint32_t bits : f32_bits) input += fmt::format("bits_f32 {:#x}\n", bits);
  for (uint64_t bits : f64_bits) input += fmt::format("bits_f64 {:#x}\n", bits);
  CliResult printed = RunCli({"call", Values(), "-"}, input);
  ASSERT_EQ(printed.exit_code, kExitOk) << printed;
  std::vector<std::string> texts = Lines(printed.out);
  ASSERT_EQ(texts.size(), f32_bits.size() + f64_bits.size()) << printed;

  std::string echo_input;
  for (size_t i = 0; i < texts.size(); ++i) {
    bool is_f32 = i < f32_bits.size();
    uint64_t bits = is_f32 ? f32_bits[i] : f64_bits[i - f32_bits.size()];
    StatusOr<Value> parsed = cli::ParseValue(texts[i], is_f32 ? ValueType::kF32 : ValueType::kF64);
    ASSERT_TRUE(parsed.ok()) << texts[i] << ": " << parsed.status().ToString();
    EXPECT_EQ(parsed->bits, bits) << fmt::format("{:#x} printed as '{}'", bits, texts[i]);
    echo_input += fmt::format("{} {}\n", is_f32 ? "f32_bits" : "f64_bits", texts[i]);
  }
  CliResult echoed = RunCli({"call", Values(), "-"}, echo_input);
  ASSERT_EQ(echoed.exit_code, kExitOk) << echoed;
  std::vector<std::string> echoed_bits = Lines(echoed.out);
  ASSERT_EQ(echoed_bits.size(), texts.size()) << echoed;
  for (size_t i = 0; i < texts.size(); ++i) {
    bool is_f32 = i < f32_bits.size();
    uint64_t bits = is_f32 ? f32_bits[i] : f64_bits[i - f32_bits.size()];
    // f32_bits returns an i32, printed signed: compare as the same width.
    std::string expected = is_f32 ? std::to_string(static_cast<int32_t>(bits))
                                  : std::to_string(static_cast<int64_t>(bits));
    EXPECT_EQ(echoed_bits[i], expected) << fmt::format("'{}' passed as {:#x}", texts[i], bits);
  }
}

TEST(CliTest, FloatIdentityExportsKeepNanPayloads) {
  CliResult result = RunCli({"call", Values(), "-"},
                            "id_f32 nan:0x1\nid_f32 -nan:0x7fffff\nid_f64 nan:0x1\nid_f64 -0\n"
                            "id_f32 1e-45\nid_f64 5e-324\n");
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(Lines(result.out),
              ElementsAre("nan:0x1", "-nan:0x7fffff", "nan:0x1", "-0", "1e-45", "5e-324"));
}

// -------------------------------------------------------------- inspect

TEST(CliTest, InspectPrintsDescriptor) {
  CliResult result = RunCli({"inspect", Calc()});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(result.out, StartsWith("module calc (ABI "));
  EXPECT_THAT(result.out, AllOf(HasSubstr("sha256:"), HasSubstr("exports (13):"),
                                HasSubstr("  add (i32, i32) -> i32\n"),
                                HasSubstr("  multiply (i64, i64) -> i64\n"),
                                HasSubstr("  average (f64, f64) -> f64\n"),
                                HasSubstr("  count () -> i32\n"),
                                HasSubstr("  ringfence.log (i32, i32, i32) -> nil\n"),
                                HasSubstr("64 KiB pages")));
}

TEST(CliTest, InspectJsonIsValidAndComplete) {
  CliResult result = RunCli({"inspect", "--json", Calc()});
  ASSERT_EQ(result.exit_code, kExitOk) << result;
  nlohmann::json document = nlohmann::json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(document.is_discarded()) << result.out;
  ASSERT_TRUE(document.is_object());
  EXPECT_EQ(document.value("name", ""), "calc");
  EXPECT_EQ(document.value("format", ""), "ringfence-module");
  ASSERT_TRUE(document["exports"].is_array());
  EXPECT_EQ(document["exports"].size(), 13u);
  bool found_add = false, found_scale = false;
  for (const nlohmann::json& item : document["exports"]) {
    if (item.value("name", "") == "add") {
      found_add = true;
      EXPECT_EQ(item["params"], nlohmann::json({"i32", "i32"}));
      EXPECT_EQ(item["results"], nlohmann::json({"i32"}));
    }
    if (item.value("name", "") == "scale") {
      found_scale = true;
      EXPECT_EQ(item["params"], nlohmann::json({"f32", "f32"}));
      EXPECT_EQ(item["results"], nlohmann::json({"f32"}));
    }
  }
  EXPECT_TRUE(found_add && found_scale) << result.out;
  ASSERT_TRUE(document["imports"].is_array());
  EXPECT_TRUE(document["memory"].is_object());
  // The same hash as the human-readable form.
  CliResult text = RunCli({"inspect", Calc()});
  EXPECT_THAT(text.out, HasSubstr(document.value("content_hash", "?")));
}

TEST(CliTest, InspectVoidExportSignature) {
  CliResult result = RunCli({"inspect", Values()});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(result.out, AllOf(StartsWith("module cli_values "),
                                HasSubstr("  remember (i32) -> nil\n"),
                                HasSubstr("  bits_f64 (i64) -> f64\n")));
}

// ------------------------------------------------ process backend (--isolation)

TEST(CliTest, CallRunsANativeModuleInAWorker) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"call", CalcNative(), "add", "2", "3"},
        std::vector<std::string>{"call", "--isolation", "process", CalcNative(), "add", "2", "3"}}) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(args, " ")));
    CliResult result = RunCli(args);
    EXPECT_EQ(result.exit_code, kExitOk) << result;
    EXPECT_EQ(result.out, "5\n");
  }
  // The stdin protocol too: a trap in one call, the worker restarts, the
  // next call is served.
  CliResult lines = RunCli({"call", "--isolation", "process", CalcNative(), "-"},
                           "add 2 3\ndivide 1 0\nadd 40 2\n");
  EXPECT_EQ(lines.exit_code, kExitOk) << lines;
  std::vector<std::string> out = Lines(lines.out);
  ASSERT_EQ(out.size(), 3u) << lines;
  EXPECT_EQ(out[0], "5");
  EXPECT_THAT(out[1], StartsWith("trap: divide-by-zero"));
  EXPECT_EQ(out[2], "42");
}

TEST(CliTest, CallRefusesAModuleBuiltForTheOtherBackend) {
  struct Case {
    std::string isolation, module, expected;
  };
  const std::vector<Case> cases = {
      {"process", Calc(), "module calc was built for the wasm backend, not process"},
      {"wasm", CalcNative(), "module calc was built for the process backend, not wasm"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.isolation);
    CliResult result = RunCli({"call", "--isolation", c.isolation, c.module, "add", "2", "3"});
    EXPECT_EQ(result.exit_code, kExitUsage) << result;
    EXPECT_EQ(result.out, "");
    EXPECT_THAT(result.err, AllOf(StartsWith("ringfence call: error: "), HasSubstr(c.expected)));
    // It says how to rebuild.
    EXPECT_THAT(result.err, HasSubstr("--native"));
    EXPECT_EQ(Lines(result.err).size(), 1u) << result;
  }
}

TEST(CliTest, CallANativeModuleThatTrapsPrintsOneTrapLine) {
  CliResult result = RunCli({"call", "--isolation", "process", MisbehaveNative(), "unreachable"});
  EXPECT_EQ(result.exit_code, kExitTrap) << result;
  EXPECT_EQ(result.out, "");
  std::vector<std::string> lines = Lines(result.err);
  ASSERT_FALSE(lines.empty()) << result;
  EXPECT_THAT(lines.back(), AllOf(StartsWith("trap: unreachable"),
                                  HasSubstr("in misbehave.unreachable"),
                                  HasSubstr("(function unreachable)")));
}

TEST(CliTest, CallShowsTheSyscallASandboxDenied) {
  TempDir dir;
  CliResult result = RunCli({"call", "--report", dir.Path("crashes.jsonl"),
                             TestModulePath("lib_sandbox_native"), "do_open"});
  EXPECT_EQ(result.exit_code, kExitTrap) << result;
  EXPECT_THAT(result.err, HasSubstr("trap: syscall-denied (openat) in lib_sandbox.do_open"));
  std::vector<std::string> reports = Lines(dir.Read("crashes.jsonl"));
  ASSERT_EQ(reports.size(), 1u);
  nlohmann::json report = nlohmann::json::parse(reports[0]);
  EXPECT_EQ(report["trap"], "syscall-denied");
  EXPECT_EQ(report["syscall"], "openat");
  EXPECT_EQ(report["signal"], SIGSYS);
}

TEST(CliTest, InspectShowsTheIsolation) {
  CliResult wasm = RunCli({"inspect", Calc()});
  EXPECT_EQ(wasm.exit_code, kExitOk) << wasm;
  EXPECT_THAT(wasm.out, HasSubstr("\nisolation: wasm"));
  EXPECT_THAT(wasm.out, Not(HasSubstr("native functions")));

  CliResult native = RunCli({"inspect", CalcNative()});
  EXPECT_EQ(native.exit_code, kExitOk) << native;
  EXPECT_THAT(native.out, StartsWith("module calc (ABI "));
  std::shared_ptr<const Module> module = testing::LoadOrDie(CalcNative());
  size_t functions = module->descriptor().native_functions.size();
  ASSERT_GT(functions, 0u);
  EXPECT_THAT(native.out,
              HasSubstr(fmt::format("\nisolation: process (sandboxed worker process, {} native "
                                    "functions)\n",
                                    functions)));
  EXPECT_THAT(native.out, HasSubstr("  add (i32, i32) -> i32\n"));

  CliResult json = RunCli({"inspect", "--json", CalcNative()});
  ASSERT_EQ(json.exit_code, kExitOk) << json;
  nlohmann::json document = nlohmann::json::parse(json.out);
  EXPECT_EQ(document["isolation"], "process");
  EXPECT_EQ(document["native_functions"].size(), functions);
}

TEST(CliTest, HelpNamesTheIsolationOption) {
  EXPECT_THAT(RunCli({"call", "--help"}).out, AllOf(HasSubstr("--isolation"), HasSubstr("wasm|process")));
  CliResult demo = RunCli({"demo", "--help"});
  EXPECT_THAT(demo.out, AllOf(HasSubstr("--isolation"), HasSubstr("wasm backend only")));
  EXPECT_THAT(RunCli({"bench", "--help"}).out, HasSubstr("process_rtt_ratio"));
}

// ---------------------------------------------------------- memory limit

// The limit bounds how far the module's memory may grow: with 8 MiB it gets
// only a few 1 MiB blocks, with 64 MiB many more but still fewer than 64.
TEST(CliTest, MemoryLimitBoundsGrowth) {
  CliResult small = RunCli({"call", "--memory-limit", "8", Misbehave(), "allocate_until_refused"});
  ASSERT_EQ(small.exit_code, kExitOk) << small;
  CliResult large = RunCli({"call", "--memory-limit", "64", Misbehave(), "allocate_until_refused"});
  ASSERT_EQ(large.exit_code, kExitOk) << large;
  int small_blocks = std::stoi(small.out);
  int large_blocks = std::stoi(large.out);
  EXPECT_GE(small_blocks, 1);
  EXPECT_LT(small_blocks, 8);
  EXPECT_GT(large_blocks, 32);
  EXPECT_LT(large_blocks, 64);
}

TEST(CliTest, MemoryLimitBelowInitialMemoryIsALoadError) {
  // calc needs more than 1 MiB to start (its stack alone is 1 MiB).
  CliResult result = RunCli({"call", "--memory-limit", "1", Calc(), "add", "1", "2"});
  EXPECT_EQ(result.exit_code, kExitUsage) << result;
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, AllOf(StartsWith("ringfence call: error: "), HasSubstr("memory-limit")));
}

// ---------------------------------------------------------- deadlines

// A hung module is stopped at the deadline: a trap line, exit code 3. A call
// blocked in a host service is woken the same way (this one works under
// TSan too: no signal is needed).
TEST(CliTest, TimeoutStopsAHungCall) {
  CliResult result = RunCli({"call", "--timeout-ms", "100", Misbehave(), "sleep_seconds", "60"});
  EXPECT_EQ(result.exit_code, kExitTrap) << result;
  EXPECT_THAT(result.err, StartsWith("trap: timeout in misbehave.sleep_seconds"));
  if (testing::kSignalTrapsTestable) {
    CliResult spun = RunCli({"call", "--timeout-ms", "100", Misbehave(), "spin_forever"});
    EXPECT_EQ(spun.exit_code, kExitTrap) << spun;
    EXPECT_THAT(spun.err, StartsWith("trap: timeout in misbehave.spin_forever"));
  }
  CliResult quick = RunCli({"call", "--timeout-ms", "10000", Calc(), "add", "1", "2"});
  EXPECT_EQ(quick.exit_code, kExitOk) << quick;
  EXPECT_EQ(quick.out, "3\n");
}

// A module that dies after memory growth was refused says so.
TEST(CliTest, DeathByMemoryLimitIsExplained) {
  CliResult result = RunCli({"call", "--memory-limit", "8", Misbehave(), "allocate_until_death"});
  EXPECT_EQ(result.exit_code, kExitTrap) << result;
  EXPECT_THAT(result.err, HasSubstr("after memory growth was refused at the 8 MiB limit"));
}

}  // namespace
}  // namespace ringfence
