// What a module build's compilers may touch on the file system: module
// source is hostile, and a compiler reads whatever path the source names
// (#include "/etc/shadow", .incbin in inline assembly) and can echo it in
// its messages. With Landlock (Linux 5.13+, no privileges needed), each
// compiler is confined before exec to:
//   read and execute: the system and toolchain directories (/usr, /lib,
//     /lib64, /bin, and each compiler's installation prefix);
//   read: the module SDK, the wasi sysroot, each source file, the directory
//     holding it (where C looks first for the headers it includes with
//     quotes) and each -I directory;
//   read and write: the build's work directory and /dev/null.
// Everything else (/etc, /home, /root, the rest of /tmp, ...) is denied.
#ifndef RINGFENCE_SRC_TOOLCHAIN_BUILD_SANDBOX_H_
#define RINGFENCE_SRC_TOOLCHAIN_BUILD_SANDBOX_H_

#include <string>
#include <vector>

namespace ringfence::internal {

struct SandboxPaths {
  std::vector<std::string> executable;  // read and execute (directories)
  std::vector<std::string> readable;    // read (files or directories)
  std::vector<std::string> writable;    // read and write (directories)
};

// A Landlock ruleset for RunCommand (CommandOptions::landlock_ruleset).
// Owns its file descriptor (closed on destruction; move-only). Paths that
// do not exist are left out. Not thread-safe; the descriptor may be used by
// any number of RunCommand calls.
class BuildSandbox {
 public:
  // The compilers' common system directories (see above).
  static std::vector<std::string> SystemDirectories();

  // A sandbox allowing `paths`, or one that confines nothing (fd() == -1)
  // with warning() saying why, where the kernel lacks Landlock.
  static BuildSandbox Create(const SandboxPaths& paths);

  BuildSandbox(BuildSandbox&& other) noexcept;
  BuildSandbox& operator=(BuildSandbox&&) = delete;
  BuildSandbox(const BuildSandbox&) = delete;
  ~BuildSandbox();

  int fd() const { return fd_; }
  const std::string& warning() const { return warning_; }

 private:
  BuildSandbox(int fd, std::string warning) : fd_(fd), warning_(std::move(warning)) {}

  int fd_;
  std::string warning_;
};

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_BUILD_SANDBOX_H_
