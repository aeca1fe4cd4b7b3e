#include "tools/ringfence/module_dir.h"

#include <filesystem>
#include <vector>

#include <fmt/format.h>

namespace ringfence::cli {

StatusOr<std::string> FindModuleDir(const std::string& requested) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (!requested.empty()) {
    candidates.emplace_back(requested);
  } else {
    std::error_code error;
    fs::path exe = fs::read_symlink("/proc/self/exe", error);
    if (!error) candidates.push_back(exe.parent_path().parent_path() / "share/ringfence/modules");
    candidates.emplace_back(RINGFENCE_BUILD_MODULE_DIR);
  }
  std::string tried;
  for (const fs::path& dir : candidates) {
    std::error_code error;
    if (fs::exists(dir / "calc.rfm", error)) return dir.string();
    tried += (tried.empty() ? "" : ", ") + dir.string();
  }
  return Status(StatusCode::kNotFound,
                fmt::format("the example modules (calc.rfm ...) are not in {}; build the project "
                            "first or pass --modules DIR",
                            tried));
}

}  // namespace ringfence::cli
