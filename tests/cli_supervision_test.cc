// The CLI's supervision features: `ringfence demo` (the fault storm on the
// driver stack, --json, --metrics, --report), and `ringfence call` with
// --report, --inject, --seed and --repeat; the demo under the process
// backend (--isolation process).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/cli_runner.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::CliResult;
using testing::ExampleModulePath;
using testing::kExitOk;
using testing::kExitTrap;
using testing::kExitUsage;
using testing::Lines;
using testing::RunCli;
using testing::TempDir;

TEST(CliSupervisionTest, DemoStormLosesAndDuplicatesNothing) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();  // hangs are preempted by signal
  TempDir dir;
  CliResult result = RunCli({"demo", "--duration", "1.5", "--seed", "7", "--json",
                             "--quiet-modules", "--metrics", dir.Path("metrics.txt"), "--report",
                             dir.Path("crashes.jsonl")});
  ASSERT_EQ(result.exit_code, kExitOk) << result;
  std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 1u) << "stdout is the JSON summary alone: " << result;
  nlohmann::json summary = nlohmann::json::parse(lines[0]);
  for (const char* key : {"injected", "recovered", "lost", "duplicated", "restart_us_p50",
                          "restart_us_p99", "retried", "failed", "calls"}) {
    EXPECT_TRUE(summary.contains(key)) << key;
  }
  EXPECT_EQ(summary["seed"], 7);
  EXPECT_EQ(summary["lost"], 0);
  EXPECT_EQ(summary["duplicated"], 0);
  EXPECT_TRUE(summary["checksum_ok"].get<bool>());
  EXPECT_GT(summary["injected"].get<uint64_t>(), 0u) << "the storm injected faults";
  EXPECT_GT(summary["recovered"].get<uint64_t>(), 0u);
  EXPECT_THAT(result.err, HasSubstr("calls/s")) << "status lines go to stderr with --json";

  std::string metrics = dir.Read("metrics.txt");
  EXPECT_THAT(metrics, HasSubstr("ringfence_calls_total{module=\"blockdev\"}"));
  EXPECT_THAT(metrics, HasSubstr("ringfence_restart_seconds_bucket{module=\"minifs\""));
  std::vector<std::string> crashes = Lines(dir.Read("crashes.jsonl"));
  EXPECT_EQ(crashes.size(), summary["traps"].get<size_t>());
  ASSERT_FALSE(crashes.empty());
  nlohmann::json first = nlohmann::json::parse(crashes[0]);
  EXPECT_TRUE(first["module"] == "blockdev" || first["module"] == "minifs") << first;
  EXPECT_FALSE(first["action"].get<std::string>().empty());
}

// The same storm with each module in a sandboxed worker process: fault
// points and traps cross the channel, deaths holding the lock are repaired,
// and still nothing is lost or duplicated.
TEST(CliSupervisionTest, DemoStormUnderTheProcessBackendLosesAndDuplicatesNothing) {
  TempDir dir;
  // A denser storm than the default, so that one short second surely
  // injects faults of each sort (a worker restart costs milliseconds).
  CliResult result = RunCli({"demo", "--isolation", "process", "--duration", "1", "--seed", "7",
                             "--storm",
                             "trap=0.02,hang=0.002,slow=0.01,slow-ms=1,point=blockdev.io:0.02,"
                             "point=minifs.lookup:0.01",
                             "--json", "--quiet-modules", "--report", dir.Path("crashes.jsonl")});
  ASSERT_EQ(result.exit_code, kExitOk) << result;
  std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 1u) << "stdout is the JSON summary alone: " << result;
  nlohmann::json summary = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(summary["isolation"], "process");
  EXPECT_EQ(summary["lost"], 0);
  EXPECT_EQ(summary["duplicated"], 0);
  EXPECT_TRUE(summary["checksum_ok"].get<bool>());
  EXPECT_GT(summary["calls"].get<uint64_t>(), 0u);
  EXPECT_GT(summary["injected"].get<uint64_t>(), 0u) << "the storm injected faults";
  EXPECT_GT(summary["recovered"].get<uint64_t>(), 0u);
  EXPECT_THAT(result.err, HasSubstr("backend   process"));
  std::vector<std::string> crashes = Lines(dir.Read("crashes.jsonl"));
  EXPECT_EQ(crashes.size(), summary["traps"].get<size_t>());
}

TEST(CliSupervisionTest, DemoDefaultsToTheWasmBackend) {
  CliResult result = RunCli({"demo", "--duration", "0.2", "--json", "--quiet-modules"});
  ASSERT_EQ(result.exit_code, kExitOk) << result;
  nlohmann::json summary = nlohmann::json::parse(Lines(result.out).at(0));
  EXPECT_EQ(summary["isolation"], "wasm");
}

TEST(CliSupervisionTest, DemoProcessBackendNeedsTheNativeBuilds) {
  TempDir dir;
  // A module directory with the wasm examples only.
  for (const char* name : {"calc", "blockdev", "minifs"}) {
    std::ifstream in(ExampleModulePath(name), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    dir.File(std::string(name) + ".rfm", bytes);
  }
  CliResult result = RunCli({"demo", "--isolation", "process", "--modules", dir.Path(""),
                             "--duration", "60"});
  EXPECT_EQ(result.exit_code, kExitUsage) << result;
  EXPECT_THAT(result.err, AllOf(StartsWith("ringfence demo: error: --isolation process needs"),
                                HasSubstr("blockdev_native.rfm")));
}

TEST(CliSupervisionTest, DemoRefusesABadStorm) {
  CliResult result = RunCli({"demo", "--storm", "trap=2", "--duration", "1"});
  EXPECT_EQ(result.exit_code, kExitUsage) << result;
  EXPECT_THAT(result.err, AllOf(StartsWith("ringfence demo: error: --storm"), HasSubstr("trap")));
}

TEST(CliSupervisionTest, DemoRefusesAnUnwritableMetricsFileBeforeRunning) {
  CliResult result = RunCli({"demo", "--metrics", "/nonexistent-dir/m.txt", "--duration", "60"});
  EXPECT_EQ(result.exit_code, kExitUsage) << result;
  EXPECT_THAT(result.err, HasSubstr("--metrics: cannot write /nonexistent-dir/m.txt"));
  EXPECT_EQ(result.out, "") << "refused before the run";
}

TEST(CliSupervisionTest, CallReportWritesOneJsonLinePerTrap) {
  TempDir dir;
  std::string report = dir.Path("report.jsonl");
  CliResult result =
      RunCli({"call", "--report", report, ExampleModulePath("misbehave"), "divide_by_zero"});
  EXPECT_EQ(result.exit_code, kExitTrap) << result;
  EXPECT_THAT(result.err, StartsWith("trap: divide-by-zero in misbehave.divide_by_zero"));
  std::vector<std::string> lines = Lines(dir.Read("report.jsonl"));
  ASSERT_EQ(lines.size(), 1u);
  nlohmann::json crash = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(crash["trap"], "divide-by-zero");
  EXPECT_EQ(crash["export"], "divide_by_zero");
  EXPECT_EQ(crash["module"], "misbehave");
  EXPECT_EQ(crash["action"], "restart");

  CliResult unwritable = RunCli({"call", "--report", dir.Path("no/such/dir/r.jsonl"),
                                 ExampleModulePath("calc"), "add", "1", "2"});
  EXPECT_EQ(unwritable.exit_code, kExitUsage) << unwritable;
  EXPECT_THAT(unwritable.err, StartsWith("ringfence call: error: "));
}

TEST(CliSupervisionTest, CallInjectCountsEveryFault) {
  CliResult result = RunCli({"call", "--inject", "trap=1", "--repeat", "3",
                             ExampleModulePath("calc"), "add", "1", "2"});
  EXPECT_EQ(result.exit_code, kExitTrap) << result;
  EXPECT_EQ(Lines(result.err).size(), 4u) << result;
  EXPECT_THAT(result.err, HasSubstr("trap: injected in calc.add"));
  EXPECT_THAT(result.err, HasSubstr("injected 3 (3 traps, 0 hangs, 0 slow-downs), recovered 2, "
                                    "retried 0, failed 3, lost 0, duplicates 0"));
}

TEST(CliSupervisionTest, SameSeedSameFaults) {
  std::vector<std::string> args = {"call",   "--inject", "trap=0.5", "--seed", "11",
                                   "--repeat", "40",      ExampleModulePath("calc"), "add", "2", "3"};
  CliResult first = RunCli(args);
  CliResult second = RunCli(args);
  EXPECT_EQ(first.out, second.out);
  EXPECT_EQ(first.err, second.err);
  args[4] = "12";
  EXPECT_NE(RunCli(args).err, first.err) << "another seed, other faults";
}

TEST(CliSupervisionTest, CallRefusesABadInjectSpec) {
  CliResult result =
      RunCli({"call", "--inject", "explode=1", ExampleModulePath("calc"), "add", "1", "2"});
  EXPECT_EQ(result.exit_code, kExitUsage) << result;
  EXPECT_THAT(result.err, StartsWith("ringfence call: error: --inject"));
}

}  // namespace
}  // namespace ringfence
