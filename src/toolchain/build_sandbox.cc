#include "src/toolchain/build_sandbox.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

// Rights of later Landlock ABIs than these headers know (the values are
// the kernel's ABI).
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

namespace ringfence::internal {
namespace {

constexpr uint64_t kRead = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
constexpr uint64_t kExecute = LANDLOCK_ACCESS_FS_EXECUTE;
constexpr uint64_t kWriteAbi1 =
    LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
    LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
// Rights that apply to a file (not a directory) in a rule.
constexpr uint64_t kFileRights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
                                 LANDLOCK_ACCESS_FS_IOCTL_DEV;

// Every file-system right the running kernel's Landlock ABI knows: all are
// handled, so each is denied unless a rule allows it.
uint64_t HandledRights(int abi) {
  uint64_t rights = kRead | kExecute | kWriteAbi1;
  if (abi >= 2) rights |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5) rights |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  return rights;
}

// Adds a rule for `path`; a path that does not exist is skipped.
void AddRule(int ruleset, const std::string& path, uint64_t rights, uint64_t handled) {
  int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return;
  struct stat info;
  if (fstat(fd, &info) == 0 && !S_ISDIR(info.st_mode)) rights &= kFileRights;
  landlock_path_beneath_attr rule = {rights & handled, fd};
  // A rule the kernel refuses leaves that path denied: the build then fails
  // with the compiler's own message, never silently unconfined.
  (void)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
  close(fd);
}

}  // namespace

std::vector<std::string> BuildSandbox::SystemDirectories() {
  // /lib, /lib64 and /bin: the dynamic loader and shells by the paths
  // programs name them (links into /usr where /usr is merged).
  return {"/usr", "/lib", "/lib64", "/bin"};
}

BuildSandbox BuildSandbox::Create(const SandboxPaths& paths) {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 1) {
    return BuildSandbox(-1, fmt::format("this kernel has no Landlock ({}): the compilers are not "
                                        "confined and can read any file this user can",
                                        std::strerror(errno)));
  }
  uint64_t handled = HandledRights(static_cast<int>(abi));
  landlock_ruleset_attr attributes = {handled};
  int ruleset = static_cast<int>(
      syscall(SYS_landlock_create_ruleset, &attributes, sizeof(attributes), 0));
  if (ruleset < 0) {
    return BuildSandbox(-1, fmt::format("cannot create a Landlock ruleset ({}): the compilers are "
                                        "not confined and can read any file this user can",
                                        std::strerror(errno)));
  }
  for (const std::string& path : paths.executable) AddRule(ruleset, path, kRead | kExecute, handled);
  for (const std::string& path : paths.readable) AddRule(ruleset, path, kRead, handled);
  uint64_t all = kRead | kWriteAbi1 | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE;
  for (const std::string& path : paths.writable) AddRule(ruleset, path, all, handled);
  AddRule(ruleset, "/dev/null", all, handled);
  return BuildSandbox(ruleset, "");
}

BuildSandbox::BuildSandbox(BuildSandbox&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), warning_(std::move(other.warning_)) {}

BuildSandbox::~BuildSandbox() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace ringfence::internal
