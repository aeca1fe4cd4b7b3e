// `ringfence build` end to end: the real CLI compiles fixtures from
// tests/fixtures into a temporary directory, and the results are loaded and
// called through the CLI too. Each build takes about a second, so every
// artifact is built at most once per test process (memoised) and only by the
// tests that need it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tests/cli_runner.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
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

std::string Fixture(const std::string& name) {
  return std::string(RF_SOURCE_DIR) + "/tests/fixtures/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

class ToolchainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "ringfence-toolchain-test-XXXXXX").string();
    RF_CHECK(mkdtemp(pattern.data()) != nullptr);
    dir_ = new fs::path(pattern);
    builds_ = new std::map<std::string, CliResult>;
  }
  static void TearDownTestSuite() {
    std::error_code error;
    fs::remove_all(*dir_, error);
    delete dir_;
    delete builds_;
  }

  // Path of `file` in the suite's temporary directory.
  static std::string Out(const std::string& file) { return (*dir_ / file).string(); }

  // `ringfence build ARGS... -o <dir>/<output>`, run once per process.
  static const CliResult& Build(const std::string& output, const std::vector<std::string>& args) {
    auto it = builds_->find(output);
    if (it != builds_->end()) return it->second;
    std::vector<std::string> command = {"build"};
    command.insert(command.end(), args.begin(), args.end());
    command.insert(command.end(), {"-o", Out(output)});
    return builds_->emplace(output, RunCli(command)).first->second;
  }

  // The built module file, failing the test if the build did not succeed.
  static std::string BuiltOk(const std::string& output, const std::vector<std::string>& args) {
    const CliResult& result = Build(output, args);
    EXPECT_EQ(result.exit_code, kExitOk) << result;
    EXPECT_TRUE(fs::is_regular_file(Out(output))) << Out(output);
    return Out(output);
  }

  // The C fixture (two sources), built quietly.
  static std::string HelloC() {
    return BuiltOk("hello_module.rfm", {Fixture("hello.c"), Fixture("hello_helper.c"), "--quiet"});
  }
  static std::string NeedsFlags() {
    return BuiltOk("needs_flags.rfm",
                   {Fixture("needs_flags.c"), "-I", Fixture("include"), "-D", "FIXTURE_ANSWER=41",
                    "-D", "FIXTURE_SWITCH", "--name", "flagged"});
  }

  // Expects a failed build: exit 2, no module file (nor a half-written one).
  static void ExpectBuildFails(const std::string& output, const CliResult& result) {
    EXPECT_EQ(result.exit_code, kExitUsage) << result;
    EXPECT_FALSE(fs::exists(Out(output))) << "a failed build left " << Out(output);
    EXPECT_FALSE(fs::exists(Out(output) + ".partial"));
    EXPECT_THAT(result.err, HasSubstr("ringfence build: error: ")) << result;
  }

  static fs::path* dir_;
  static std::map<std::string, CliResult>* builds_;
};

fs::path* ToolchainTest::dir_ = nullptr;
std::map<std::string, CliResult>* ToolchainTest::builds_ = nullptr;

// ----------------------------------------------------------- good builds

TEST_F(ToolchainTest, CModuleBuildsAndRuns) {
  std::string module = HelloC();
  // --quiet: nothing on stderr when all goes well.
  EXPECT_EQ(Build("hello_module.rfm", {}).err, "");
  CliResult result = RunCli({"call", module, "-"},
                            "triple 14\nformatted_length 123\nheap_sum 1000\nwith_helper 5\n");
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(Lines(result.out), ElementsAre("42", "9", "500500", "1005"));
}

TEST_F(ToolchainTest, NameDefaultsToOutputStem) {
  CliResult result = RunCli({"inspect", HelloC()});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(result.out, StartsWith("module hello_module (ABI "));
  EXPECT_THAT(result.out, AllOf(HasSubstr("  triple (i32) -> i32\n"),
                                HasSubstr("  heap_sum (i32) -> i64\n")));
}

TEST_F(ToolchainTest, CxxModuleBuildsAndRuns) {
  std::string module = BuiltOk("hello_cxx.rfm", {Fixture("hello.cc"), "-O", "1"});
  CliResult result =
      RunCli({"call", module, "-"}, "table_sum\nsorted_at 100 0\nsorted_at 100 99\nword_count\narea 7\n");
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(Lines(result.out), ElementsAre("55", "1", "100", "303", "49"));
}

// Progress lines go to stderr (stdout stays free for results).
TEST_F(ToolchainTest, ProgressLinesUnlessQuiet) {
  NeedsFlags();
  const CliResult& result = Build("needs_flags.rfm", {});  // the memoised build
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, AllOf(HasSubstr("ringfence: compiling "), HasSubstr("ringfence: wrote ")));
}

TEST_F(ToolchainTest, DefinesAndIncludeDirsReachTheCompiler) {
  std::string module = NeedsFlags();
  CliResult result = RunCli({"call", module, "-"}, "answer\nswitch_on\n");
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(Lines(result.out), ElementsAre("1041", "1"));
}

// Without -D the fixture's #error fires, without -I its header is missing:
// proves the success above came from the flags.
TEST_F(ToolchainTest, FixtureNeedsTheFlags) {
  const CliResult& no_define = Build("no_define.rfm", {Fixture("needs_flags.c"), "-I", Fixture("include")});
  ExpectBuildFails("no_define.rfm", no_define);
  EXPECT_THAT(no_define.err, HasSubstr("FIXTURE_ANSWER must be defined with -D"));
  const CliResult& no_include = Build("no_include.rfm", {Fixture("needs_flags.c"), "-D", "FIXTURE_ANSWER=1"});
  ExpectBuildFails("no_include.rfm", no_include);
  EXPECT_THAT(no_include.err, HasSubstr("'fixture_config.h' file not found"));
}

TEST_F(ToolchainTest, NameOptionSetsModuleName) {
  std::string module = NeedsFlags();
  CliResult result = RunCli({"inspect", module});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(result.out, StartsWith("module flagged (ABI "));
  // Traps and errors name the module by that name too.
  result = RunCli({"call", module, "nosuch"});
  EXPECT_THAT(result.err, HasSubstr("module flagged has no export 'nosuch'"));
}

// The module name is written into the generated C only as an escaped
// string: a name that would end a C comment builds like any other.
TEST_F(ToolchainTest, ModuleNameIsNeverCText) {
  std::string name = "odd*/ int rf_broken = ; /*\"";
  for (std::string backend : {"wasm", "native"}) {
    std::vector<std::string> args = {Fixture("needs_flags.c"), "-I", Fixture("include"), "-D",
                                     "FIXTURE_ANSWER=41", "-D", "FIXTURE_SWITCH", "--name", name,
                                     "-q"};
    if (backend == "native") args.push_back("--native");
    std::string module = BuiltOk("odd_name_" + backend + ".rfm", args);
    CliResult result = RunCli({"inspect", module});
    EXPECT_THAT(result.out, StartsWith("module " + name + " (ABI ")) << backend << "\n" << result;
  }
}

// ---------------------------------------------------- hand-written wasm

TEST_F(ToolchainTest, HandwrittenWatModuleIsCallable) {
  std::string module = TestModulePath("cli_handwritten");
  CliResult result = RunCli({"call", module, "-"},
                            "add_i32 2 3\n"
                            "mul_i64 -4 5000000000\n"
                            "half_f32 3\n"
                            "neg_f64 nan:0x1\n"
                            "f32_bits nan:0x1\n"
                            "f64_from_bits 1\n"
                            "load 16\n"          // the data segment's 42
                            "store 20 7\n"       // void: empty line
                            "load 20\n"
                            "pages\n"
                            "grow 1\n"
                            "pages\n"
                            "load 131068\n"      // last word of the grown page
                            "grow 10\n"          // beyond the 4-page maximum
                            "bump\n"
                            "bump\n");
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(Lines(result.out), ElementsAre("5", "-20000000000", "1.5", "-nan:0x1", "2139095041",
                                             "5e-324", "42", "", "7", "1", "1", "2", "0", "-1",
                                             "1", "2"));
}

TEST_F(ToolchainTest, HandwrittenWatModuleTrapsAndRestartsPristine) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  std::string module = TestModulePath("cli_handwritten");
  CliResult single = RunCli({"call", module, "explode"});
  EXPECT_EQ(single.exit_code, kExitTrap) << single;
  EXPECT_THAT(single.err, StartsWith("trap: unreachable in cli_handwritten.explode (function "));
  // Without a name section the function is named by index.
  EXPECT_THAT(single.err, AnyOf(HasSubstr("(function explode)"), HasSubstr("(function func[11])")));

  CliResult result = RunCli({"call", module, "-"},
                            "bump\n"
                            "store 16 9\n"
                            "grow 1\n"
                            "load 131069\n"     // straddles the end of page 2
                            "bump\n"            // restarted: counts from 1 again
                            "pages\n"           // growth undone
                            "load 16\n"         // data segment restored
                            "load 65536\n"      // page 2 is gone again
                            "explode\n"
                            "add_i32 1 1\n");
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 10u) << result;
  EXPECT_EQ(lines[0], "1");
  EXPECT_EQ(lines[1], "");
  EXPECT_EQ(lines[2], "1");
  EXPECT_THAT(lines[3], StartsWith("trap: out-of-bounds in cli_handwritten.load"));
  EXPECT_EQ(lines[4], "1");
  EXPECT_EQ(lines[5], "1");
  EXPECT_EQ(lines[6], "42");
  EXPECT_THAT(lines[7], StartsWith("trap: out-of-bounds in cli_handwritten.load"));
  EXPECT_THAT(lines[8], StartsWith("trap: unreachable in cli_handwritten.explode"));
  EXPECT_EQ(lines[9], "2");
}

TEST_F(ToolchainTest, HandwrittenWatModuleDescriptor) {
  CliResult result = RunCli({"inspect", TestModulePath("cli_handwritten")});
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  EXPECT_THAT(result.out, AllOf(StartsWith("module cli_handwritten "),
                                HasSubstr("memory: 1 pages initial, 4 max"),
                                HasSubstr("exports (12):"), HasSubstr("  store (i32, i32) -> nil\n"),
                                HasSubstr("  half_f32 (f32) -> f32\n"), HasSubstr("imports (0):")));
}

// The same .wasm built again through the CLI: same content hash (it hashes
// the wasm), the new name.
TEST_F(ToolchainTest, WasmInputBuildsDirectly) {
  fs::path wasm = fs::path(RF_TEST_MODULE_DIR).parent_path() / "tests" / "cli_handwritten.wasm";
  ASSERT_TRUE(fs::is_regular_file(wasm)) << wasm << " (assembled by tests/CMakeLists.txt)";
  std::string module = BuiltOk("handmade.rfm", {wasm.string(), "--name", "handmade", "-q"});
  CliResult rebuilt = RunCli({"inspect", module});
  CliResult original = RunCli({"inspect", TestModulePath("cli_handwritten")});
  ASSERT_EQ(rebuilt.exit_code, kExitOk) << rebuilt;
  EXPECT_THAT(rebuilt.out, StartsWith("module handmade (ABI "));
  // The same wasm: the same source hash (the code differs with the name).
  std::string hash_prefix = "translated from wasm sha256:";
  size_t at = original.out.find(hash_prefix);
  ASSERT_NE(at, std::string::npos) << original;
  EXPECT_THAT(rebuilt.out, HasSubstr(original.out.substr(at, hash_prefix.size() + 64)));
  CliResult call = RunCli({"call", module, "add_i32", "40", "2"});
  EXPECT_EQ(call.out, "42\n") << call;
}

// ---------------------------------------------------------- failed builds

// wasi-libc has no <setjmp.h>; the host's /usr/include has one. The build
// must fail with the compiler's own message instead of mixing in host headers.
TEST_F(ToolchainTest, HeaderMissingFromWasiLibcIsNotTakenFromHost) {
  const CliResult& result = Build("setjmp.rfm", {Fixture("uses_setjmp.c")});
  ExpectBuildFails("setjmp.rfm", result);
  EXPECT_THAT(result.err, AllOf(HasSubstr("uses_setjmp.c:3:10:"), HasSubstr("'setjmp.h' file not found")));
  if (!fs::exists("/usr/include/setjmp.h")) {
    GTEST_LOG_(INFO) << "the host has no /usr/include/setjmp.h: this test proves less here";
  }
}

TEST_F(ToolchainTest, SyntaxErrorShowsCompilerMessage) {
  const CliResult& result = Build("syntax.rfm", {Fixture("syntax_error.c")});
  ExpectBuildFails("syntax.rfm", result);
  EXPECT_THAT(result.err, AllOf(HasSubstr("syntax_error.c:3:"), HasSubstr("error: expected expression")));
  EXPECT_EQ(result.out, "");
}

// A failed build leaves an existing module file as it was.
TEST_F(ToolchainTest, FailedBuildKeepsPreviousOutput) {
  std::string target = Out("kept.rfm");
  fs::copy_file(ExampleModulePath("calc"), target, fs::copy_options::overwrite_existing);
  std::string before = ReadFile(target);
  CliResult result = RunCli({"build", Fixture("syntax_error.c"), "-o", target});
  EXPECT_EQ(result.exit_code, kExitUsage) << result;
  EXPECT_EQ(ReadFile(target), before);
  EXPECT_EQ(RunCli({"call", target, "add", "1", "2"}).out, "3\n");
}

TEST_F(ToolchainTest, UnknownImportRefusedAtBuildTime) {
  const CliResult& result = Build("mystery.rfm", {Fixture("unknown_import.c")});
  ExpectBuildFails("mystery.rfm", result);
  EXPECT_THAT(result.err, AllOf(HasSubstr("imports that the host does not provide"),
                                HasSubstr("env.mystery (i32) -> i32")));
}

TEST_F(ToolchainTest, BadBuildOptionsExitTwo) {
  std::string text_source = Out("module.txt");
  std::ofstream(text_source) << "int x;\n";
  std::string garbage_wasm = Out("garbage.wasm");
  std::ofstream(garbage_wasm) << "not a wasm binary";
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{text_source}, "unknown source type"},
      {{Out("missing.c")}, "no such file"},
      {{Fixture("hello.c"), "-O", "4"}, "unknown optimisation level '4'"},
      {{Fixture("hello.c"), "-O", "fast"}, "unknown optimisation level 'fast'"},
      {{garbage_wasm, Fixture("hello.c")}, "give it alone"},
      {{garbage_wasm}, "not a valid wasm module"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(c.args, " ")));
    std::vector<std::string> args = {"build"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.insert(args.end(), {"-o", Out("bad.rfm")});
    CliResult result = RunCli(args);
    EXPECT_EQ(result.exit_code, kExitUsage) << result;
    EXPECT_THAT(result.err, AllOf(HasSubstr("ringfence build: error: "), HasSubstr(c.message)));
    EXPECT_FALSE(fs::exists(Out("bad.rfm")));
  }
}

// ------------------------------------------------------------------- WASI

// fopen & co. import wasi path_open, fd_prestat_get, environ_get...; the
// host answers those with an errno, so the module builds and loads but sees
// no filesystem and no environment.
TEST_F(ToolchainTest, WasiFilesystemImportsGetErrors) {
  std::string module = BuiltOk("wasi_fopen.rfm", {Fixture("wasi_fopen.c"), "-q"});
  CliResult inspect = RunCli({"inspect", module});
  EXPECT_THAT(inspect.out, AllOf(HasSubstr("wasi_snapshot_preview1.path_open"),
                                 HasSubstr("wasi_snapshot_preview1.fd_prestat_get")));

  const std::string created = "/tmp/ringfence-wasi-fopen-must-not-exist";
  std::error_code error;
  fs::remove(created, error);
  CliResult result =
      RunCli({"call", module, "-"}, "read_passwd\nread_relative\ncreate_file\nopen_cwd\nhas_home\n");
  EXPECT_EQ(result.exit_code, kExitOk) << result;
  std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 5u) << result;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    // An errno, not -1 (opened) and not 0 (failed without saying why).
    EXPECT_NE(lines[i], "-1") << "the module opened a host file";
    EXPECT_GT(std::stoi(lines[i]), 0);
  }
  EXPECT_EQ(lines[3], "0") << "opendir(\".\") must fail";
  EXPECT_EQ(lines[4], "0") << "the host's environment must not leak in";
  EXPECT_FALSE(fs::exists(created)) << "the module created a file on the host";
}

}  // namespace
}  // namespace ringfence
