// Crash reports: the JSON line (every key, its type, escaping of hostile
// names), the people's line, and the file sink under concurrent writers.
#include "ringfence/crash_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringfence {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

CrashReport SampleReport() {
  CrashReport report;
  report.time_unix_ns = 1'796'198'956'123'456'789;  // 2026-12-02T08:09:16.123456789Z
  report.module = "driver";
  report.compartment = "driver#3";
  report.trap.kind = TrapKind::kOutOfBounds;
  report.trap.module = "driver";
  report.trap.export_name = "write_block";
  report.trap.function = "inner";
  report.trap.offset = 0x1234;
  report.trap.backtrace = {"inner", "middle", "outer"};
  report.recent_calls = {{"open", 1'796'198'956'000'000'000, 1500, "ok"},
                         {"write_block", 1'796'198'956'100'000'000, 2500, "trap: out-of-bounds"}};
  report.restart_count = 3;
  report.action = "restarted";
  return report;
}

Json Parse(const std::string& line) {
  EXPECT_THAT(line, Not(HasSubstr("\n")));
  Json json = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(json.is_discarded()) << line;
  return json;
}

TEST(CrashReportJsonTest, HasEveryKeyWithItsType) {
  CrashReport report = SampleReport();
  Json json = Parse(report.ToJson());
  ASSERT_TRUE(json.is_object());
  EXPECT_EQ(json["time"], "2026-12-02T08:09:16.123456Z");
  EXPECT_TRUE(json["time_unix_ns"].is_number_unsigned());
  EXPECT_EQ(json["time_unix_ns"].get<uint64_t>(), report.time_unix_ns);
  EXPECT_EQ(json["module"], "driver");
  EXPECT_EQ(json["compartment"], "driver#3");
  EXPECT_EQ(json["export"], "write_block");
  EXPECT_EQ(json["trap"], "out-of-bounds");
  EXPECT_EQ(json["function"], "inner");
  EXPECT_EQ(json["offset"].get<uint64_t>(), 0x1234u);
  EXPECT_TRUE(json["memory_limit_refused"].is_null());
  EXPECT_FALSE(json.contains("exit_code"));  // only for exits
  EXPECT_EQ(json["backtrace"], Json::array({"inner", "middle", "outer"}));
  ASSERT_TRUE(json["recent_calls"].is_array());
  ASSERT_EQ(json["recent_calls"].size(), 2u);
  const Json& last = json["recent_calls"][1];
  EXPECT_EQ(last["export"], "write_block");
  EXPECT_EQ(last["start_unix_ns"].get<uint64_t>(), 1'796'198'956'100'000'000u);
  EXPECT_EQ(last["duration_ns"].get<uint64_t>(), 2500u);
  EXPECT_EQ(last["outcome"], "trap: out-of-bounds");
  EXPECT_EQ(json["recent_calls"][0]["outcome"], "ok");
  EXPECT_EQ(json["restart_count"].get<uint64_t>(), 3u);
  EXPECT_EQ(json["action"], "restarted");
  EXPECT_EQ(json["message"], report.trap.ToString());
  EXPECT_EQ(json.size(), 14u) << json.dump();
}

TEST(CrashReportJsonTest, UnknownValuesAreNullAndExitHasItsCode) {
  CrashReport report;
  report.trap.kind = TrapKind::kExit;
  report.trap.exit_code = -7;
  report.trap.memory_limit_refused = uint64_t{64} << 20;
  Json json = Parse(report.ToJson());
  EXPECT_EQ(json["time"], "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(json["trap"], "exit");
  EXPECT_EQ(json["exit_code"].get<int32_t>(), -7);
  EXPECT_TRUE(json["function"].is_null());
  EXPECT_TRUE(json["offset"].is_null());
  EXPECT_EQ(json["memory_limit_refused"].get<uint64_t>(), uint64_t{64} << 20);
  EXPECT_EQ(json["backtrace"], Json::array());
  EXPECT_EQ(json["recent_calls"], Json::array());
}

TEST(CrashReportJsonTest, ProcessBackendFieldsOnlyWhenSet) {
  Json wasm = Parse(SampleReport().ToJson());
  EXPECT_FALSE(wasm.contains("signal"));
  EXPECT_FALSE(wasm.contains("syscall"));
  EXPECT_FALSE(wasm.contains("detail"));

  CrashReport report = SampleReport();
  report.trap.kind = TrapKind::kSyscallDenied;
  report.trap.signal = 31;  // SIGSYS
  report.trap.syscall = "openat";
  report.trap.detail = "the sandbox denies opening files";
  Json json = Parse(report.ToJson());
  EXPECT_EQ(json["trap"], "syscall-denied");
  EXPECT_EQ(json["signal"].get<int>(), 31);
  EXPECT_EQ(json["syscall"], "openat");
  EXPECT_EQ(json["detail"], "the sandbox denies opening files");
  EXPECT_EQ(json["message"], report.trap.ToString());
  EXPECT_EQ(json.size(), 17u) << json.dump();
}

// A trap made from the worker's crash record (which module code can
// write) says so in both forms; one the host saw for itself does not.
TEST(CrashReportJsonTest, WorkerReportedDetailsAreMarkedUnverified) {
  CrashReport report = SampleReport();
  EXPECT_FALSE(Parse(report.ToJson()).contains("worker_reported"));
  EXPECT_THAT(report.ToLine(), Not(HasSubstr("unverified")));
  report.trap.kind = TrapKind::kSyscallDenied;
  report.trap.signal = 31;
  report.trap.syscall = "unknown system call number 2147483647";
  report.trap.worker_reported = true;
  Json json = Parse(report.ToJson());
  EXPECT_EQ(json["worker_reported"], true);
  EXPECT_THAT(json["message"].get<std::string>(),
              HasSubstr("[as reported by the worker: unverified]"));
  EXPECT_THAT(report.ToLine(), HasSubstr("(as reported by the worker: unverified)"));
}

TEST(CrashReportJsonTest, HostileNamesRoundTripOrAreReplaced) {
  CrashReport report = SampleReport();
  const std::string quoted = "say \"hi\"\\ \n\t\r\x01\x1b[31m";
  report.trap.export_name = quoted;
  report.action = quoted;
  report.recent_calls[0].export_name = quoted;
  // Not UTF-8: a lone continuation byte and a truncated sequence.
  report.trap.function = std::string("bad\x80name\xe2\x82");
  report.trap.backtrace = {report.trap.function, "ok \xc3\xa9"};
  std::string line = report.ToJson();
  EXPECT_THAT(line, Not(HasSubstr("\n")));
  EXPECT_THAT(line, Not(HasSubstr("\x1b")));
  Json json = Parse(line);
  EXPECT_EQ(json["export"], quoted);
  EXPECT_EQ(json["action"], quoted);
  EXPECT_EQ(json["recent_calls"][0]["export"], quoted);
  const std::string replacement = "\xef\xbf\xbd";  // U+FFFD
  EXPECT_EQ(json["function"], "bad" + replacement + "name" + replacement);
  EXPECT_EQ(json["backtrace"][0], json["function"]);
  EXPECT_EQ(json["backtrace"][1], "ok \xc3\xa9");  // valid UTF-8 kept
}

TEST(CrashReportLineTest, SaysWhatHappenedOnOneLine) {
  EXPECT_EQ(SampleReport().ToLine(),
            "ringfence: crash: driver#3 trapped (out-of-bounds at offset 0x1234) in "
            "driver.write_block [inner <- middle <- outer]; restarts 3; action: restarted");
}

TEST(CrashReportLineTest, NamesTheSignalSyscallAndDetail) {
  CrashReport report;
  report.module = "calc";
  report.compartment = "calc#2";
  report.trap.kind = TrapKind::kSyscallDenied;
  report.trap.module = "calc";
  report.trap.export_name = "add";
  report.trap.signal = 31;
  report.trap.syscall = "openat";
  report.trap.detail = "denied by the sandbox\nforged line";
  report.restart_count = 2;
  report.action = "restarted";
  EXPECT_EQ(report.ToLine(),
            "ringfence: crash: calc#2 trapped (syscall-denied in system call openat by signal 31) "
            "in calc.add: denied by the sandbox\\x0aforged line; restarts 2; action: restarted");

  report.trap.kind = TrapKind::kWorkerFailed;
  report.trap.signal = 0;
  report.trap.syscall.clear();
  report.trap.detail = "the worker vanished";
  EXPECT_EQ(report.ToLine(),
            "ringfence: crash: calc#2 trapped (worker-failed) in calc.add: the worker vanished; "
            "restarts 2; action: restarted");
}

TEST(CrashReportLineTest, ExitAndMemoryLimitAndNoBacktrace) {
  CrashReport report;
  report.module = "calc";
  report.trap.kind = TrapKind::kExit;
  report.trap.exit_code = 7;
  report.trap.module = "calc";
  report.trap.export_name = "run";
  report.trap.function = "main";
  report.trap.memory_limit_refused = uint64_t{16} << 20;
  report.restart_count = 1;
  report.action = "failed: 5 restarts in 10 s";
  EXPECT_EQ(report.ToLine(),
            "ringfence: crash: calc trapped (exit with code 7, memory growth refused at 16 MiB) "
            "in calc.run [main]; restarts 1; action: failed: 5 restarts in 10 s");
}

TEST(CrashReportLineTest, ControlCharactersCannotSplitTheLine) {
  CrashReport report = SampleReport();
  report.trap.backtrace = {"evil\nringfence: crash: fake", "x\x1b[2J"};
  report.action = "restarted\r\n";
  std::string line = report.ToLine();
  EXPECT_THAT(line, Not(HasSubstr("\n")));
  EXPECT_THAT(line, Not(HasSubstr("\r")));
  EXPECT_THAT(line, Not(HasSubstr("\x1b")));
  EXPECT_THAT(line, HasSubstr("evil\\x0aringfence: crash: fake <- x\\x1b[2J"));
  EXPECT_THAT(line, HasSubstr("action: restarted\\x0d\\x0a"));
}

TEST(CallOutcomeTextTest, NamesOkTrapsAndErrors) {
  EXPECT_EQ(CallOutcomeText(Status::Ok()), "ok");
  EXPECT_EQ(CallOutcomeText(Status(StatusCode::kDeadlineExceeded, "late")),
            "error: deadline-exceeded");
  Trap trap;
  trap.kind = TrapKind::kDivideByZero;
  EXPECT_EQ(CallOutcomeText(trap), "trap: divide-by-zero");
}

class CrashReportFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           (std::string("ringfence-crash-report-") + info->name() + "-" +
            std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::vector<std::string> Lines(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(all.empty() || all.back() == '\n') << "last line unterminated";
    std::vector<std::string> lines;
    size_t start = 0;
    for (size_t end; (end = all.find('\n', start)) != std::string::npos; start = end + 1) {
      lines.push_back(all.substr(start, end - start));
    }
    return lines;
  }

  std::filesystem::path dir_;
};

TEST_F(CrashReportFileTest, ConcurrentWritersProduceWholeParseableLines) {
  const std::filesystem::path path = dir_ / "crashes.jsonl";
  // Two sinks on one file stand in for two processes: their mutexes are
  // separate, so only whole-line appends keep lines apart.
  StatusOr<std::unique_ptr<CrashReportFile>> files[2] = {CrashReportFile::Open(path.string()),
                                                          CrashReportFile::Open(path.string())};
  for (const auto& file : files) ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*files[0])->path(), path.string());

  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  // Long lines (a full backtrace, many recent calls) make torn writes likely
  // if writes were split.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        CrashReport report = SampleReport();
        report.compartment = "driver#" + std::to_string(t);
        report.restart_count = static_cast<uint64_t>(i);
        report.trap.backtrace.assign(32, std::string(40, 'a' + t));
        report.recent_calls.resize(32, {"write_block", 1, 2, "ok"});
        Status written = (*files[t % 2])->Write(report);
        ASSERT_TRUE(written.ok()) << written.ToString();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::vector<std::string> lines = Lines(path);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::pair<std::string, uint64_t>> seen;
  for (const std::string& line : lines) {
    Json json = Parse(line);
    ASSERT_FALSE(json.is_discarded());
    std::string compartment = json["compartment"];
    char letter = static_cast<char>('a' + (compartment.back() - '0'));
    EXPECT_EQ(json["backtrace"][0], std::string(40, letter));
    seen.emplace(compartment, json["restart_count"].get<uint64_t>());
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kPerThread));  // none lost or doubled
}

TEST_F(CrashReportFileTest, AppendsToWhatIsThere) {
  const std::filesystem::path path = dir_ / "crashes.jsonl";
  std::ofstream(path) << "{\"earlier\":true}\n";
  {
    auto file = CrashReportFile::Open(path.string());
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Write(SampleReport()).ok());
  }
  auto again = CrashReportFile::Open(path.string());
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->Write(SampleReport()).ok());
  std::vector<std::string> lines = Lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "{\"earlier\":true}");
  EXPECT_EQ(lines[1], SampleReport().ToJson());
  EXPECT_EQ(lines[2], SampleReport().ToJson());
}

TEST_F(CrashReportFileTest, BadPathIsAnIoErrorNamingIt) {
  const std::string missing = (dir_ / "no-such-dir" / "crashes.jsonl").string();
  StatusOr<std::unique_ptr<CrashReportFile>> file = CrashReportFile::Open(missing);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kIoError);
  EXPECT_THAT(file.status().message(), HasSubstr(missing));
  EXPECT_THAT(file.status().message(), HasSubstr("No such file or directory"));

  StatusOr<std::unique_ptr<CrashReportFile>> dir = CrashReportFile::Open(dir_.string());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kIoError);
}

TEST_F(CrashReportFileTest, FailedWriteIsAnIoError) {
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  auto file = CrashReportFile::Open("/dev/full");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  Status written = (*file)->Write(SampleReport());
  EXPECT_EQ(written.code(), StatusCode::kIoError);
  EXPECT_THAT(written.message(), HasSubstr("/dev/full"));
}

}  // namespace
}  // namespace ringfence
