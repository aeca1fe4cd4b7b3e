#include "src/process/worker_path.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace ringfence::internal {
namespace {

namespace fs = std::filesystem;

bool IsExecutableFile(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error) && access(path.c_str(), X_OK) == 0;
}

StatusOr<std::string> FindWorkerProgram() {
  if (const char* forced = std::getenv("RINGFENCE_WORKER"); forced != nullptr && *forced != '\0') {
    std::error_code error;
    fs::path path = fs::absolute(forced, error);
    if (!error && IsExecutableFile(path)) return path.string();
    return Status(StatusCode::kNotFound,
                  fmt::format("RINGFENCE_WORKER is {}, which is not an executable file", forced));
  }
  std::vector<fs::path> candidates;
  std::error_code error;
  fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) candidates.push_back(exe.parent_path() / RINGFENCE_WORKER_FROM_BINDIR);
#ifdef RINGFENCE_BUILD_WORKER_PATH
  candidates.emplace_back(RINGFENCE_BUILD_WORKER_PATH);
#endif
#ifdef RINGFENCE_INSTALL_WORKER_PATH
  candidates.emplace_back(RINGFENCE_INSTALL_WORKER_PATH);
#endif
  std::string tried;
  for (const fs::path& candidate : candidates) {
    fs::path path = candidate.lexically_normal();
    if (IsExecutableFile(path)) return path.string();
    tried += (tried.empty() ? "" : ", ") + path.string();
  }
  return Status(StatusCode::kNotFound,
                fmt::format("the worker program ringfence-worker (needed to run a module in a "
                            "process) is not at {}; build or install it, or set RINGFENCE_WORKER",
                            tried));
}

}  // namespace

StatusOr<std::string> WorkerProgramPath() {
  // Every worker start asks: the answer is kept while RINGFENCE_WORKER stays
  // the same (a failure is not kept: the worker may be built later).
  static std::mutex mutex;
  static std::string cached_for;
  static std::string cached;
  const char* forced = std::getenv("RINGFENCE_WORKER");
  std::string key = forced != nullptr ? forced : "";
  std::lock_guard lock(mutex);
  if (!cached.empty() && cached_for == key) return cached;
  StatusOr<std::string> found = FindWorkerProgram();
  if (found.ok()) {
    cached_for = key;
    cached = *found;
  }
  return found;
}

}  // namespace ringfence::internal
