// `ringfence build` of hostile C: the compilers see only the build's inputs
// (its sources, their directories, the -I directories), the toolchain and
// the work directory. A source that names any other file - #include of an
// absolute path, .incbin in inline assembly - fails to build, and the
// file's content appears nowhere: not in the messages, not in a module.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

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

// The directory holding a source opens only the files directly in it: a
// source in $HOME or /tmp does not open what lies below them.
TEST_F(BuildSandboxTest, IncludeFromBelowTheSourcesDirectoryFails) {
  fs::create_directories(dir_.Path("src/private"));
  dir_.File("src/private/secret.txt", std::string(kSecret) + "\n");
  ExpectRefused("below.c", "#include \"private/secret.txt\"\n");
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

// The CLI run as on a kernel without Landlock: a seccomp filter answers
// landlock_create_ruleset with ENOSYS. Returns the exit code; stderr goes
// to `err_path`.
int RunCliWithoutLandlock(const std::vector<std::string>& args, const std::string& err_path) {
  testing::CliCommandLine command(args);
  pid_t pid = fork();
  if (pid == 0) {
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err < 0 || dup2(err, STDERR_FILENO) < 0) _exit(126);
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_landlock_create_ruleset, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program_filter = {static_cast<unsigned short>(std::size(filter)), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program_filter) != 0) {
      _exit(126);
    }
    execv(command.argv[0], command.argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Without Landlock the build goes ahead, unconfined, and says so.
TEST_F(BuildSandboxTest, WithoutLandlockTheBuildWarns) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "the filter is written for x86-64";
#endif
  std::string source = dir_.File("src/answer.c",
                                 "#include <ringfence/module.h>\n"
                                 "RF_EXPORT(answer) int answer(void) { return 42; }\n");
  int exit_code = RunCliWithoutLandlock({"build", source, "-o", dir_.Path("open.rfm")},
                                        dir_.Path("stderr.txt"));
  EXPECT_EQ(exit_code, kExitOk) << dir_.Read("stderr.txt");
  EXPECT_THAT(dir_.Read("stderr.txt"),
              HasSubstr("warning: this kernel has no Landlock (Function not implemented): the "
                        "compilers are not confined"));
  EXPECT_EQ(RunCli({"call", dir_.Path("open.rfm"), "answer"}).out, "42\n");
}

}  // namespace
}  // namespace ringfence
