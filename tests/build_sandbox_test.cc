// `ringfence build` of hostile C: the compilers see only the build's inputs
// (its sources, their directories, the -I directories), the toolchain and
// the work directory. A source that names any other file - #include of an
// absolute path, .incbin in inline assembly - fails to build, and the
// file's content appears nowhere: not in the messages, not in a module.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/cli_runner.h"

namespace ringfence {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::CliResult;
using testing::kExitOk;
using testing::kExitUsage;
using testing::RunCli;
using testing::TempDir;

constexpr char kSecret[] = "RF_SECRET_7f3a9c";

class BuildSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.Path("secret"));
    fs::create_directories(dir_.Path("src"));
    fs::create_directories(dir_.Path("include"));
    secret_ = dir_.File("secret/secret.txt", std::string(kSecret) + "\n");
  }

  // Builds src/<name> (with -I include); expects a failure that shows no
  // trace of the secret.
  void ExpectRefused(const std::string& name, const std::string& source,
                     const std::vector<std::string>& flags = {}) {
    std::string path = dir_.File("src/" + name, source);
    std::vector<std::string> args = {"build", path, "-I", dir_.Path("include"), "-o",
                                     dir_.Path("out.rfm")};
    args.insert(args.end(), flags.begin(), flags.end());
    CliResult result = RunCli(args);
    EXPECT_EQ(result.exit_code, kExitUsage) << result;
    EXPECT_THAT(result.err, Not(HasSubstr(kSecret))) << result;
    EXPECT_THAT(result.out, Not(HasSubstr(kSecret))) << result;
    EXPECT_FALSE(fs::exists(dir_.Path("out.rfm")));
  }

  TempDir dir_;
  std::string secret_;
};

// Without the sandbox clang prints the included file's first line in its
// error ("unknown type name 'RF_SECRET_...'").
TEST_F(BuildSandboxTest, IncludeOfAnotherFileFails) {
  ExpectRefused("include.c", "#include \"" + secret_ + "\"\n");
}

TEST_F(BuildSandboxTest, IncludeOfAnotherFileFailsNatively) {
  ExpectRefused("include.c", "#include \"" + secret_ + "\"\n", {"--native"});
}

// Without the sandbox this builds, with the file in the module's data.
TEST_F(BuildSandboxTest, IncbinOfAnotherFileFails) {
  ExpectRefused("incbin.c",
                "__asm__(\".section .rodata.rf_secret,\\\"\\\",@\\n.incbin \\\"" + secret_ +
                    "\\\"\\n.text\\n\");\nint get(void) { return 1; }\n");
}

TEST_F(BuildSandboxTest, IncbinOfAnotherFileFailsNatively) {
  ExpectRefused("incbin.c",
                "__asm__(\".section .rodata\\n.incbin \\\"" + secret_ +
                    "\\\"\\n.text\\n\");\nint get(void) { return 1; }\n",
                {"--native"});
}

// The inputs themselves stay readable: a header beside the source and one
// in an -I directory.
TEST_F(BuildSandboxTest, InputsAreReadable) {
  dir_.File("src/beside.h", "#define BESIDE 40\n");
  dir_.File("include/given.h", "#define GIVEN 2\n");
  std::string source = dir_.File("src/answer.c",
                                 "#include <ringfence/module.h>\n#include \"beside.h\"\n"
                                 "#include \"given.h\"\n"
                                 "RF_EXPORT(answer) int answer(void) { return BESIDE + GIVEN; }\n");
  for (std::string backend : {"wasm", "native"}) {
    std::vector<std::string> args = {"build", source, "-I", dir_.Path("include"), "-o",
                                     dir_.Path(backend + ".rfm"), "-q"};
    if (backend == "native") args.push_back("--native");
    CliResult build = RunCli(args);
    ASSERT_EQ(build.exit_code, kExitOk) << backend << "\n" << build;
    CliResult call = RunCli({"call", dir_.Path(backend + ".rfm"), "answer"});
    EXPECT_EQ(call.out, "42\n") << backend << "\n" << call;
  }
}

}  // namespace
}  // namespace ringfence
