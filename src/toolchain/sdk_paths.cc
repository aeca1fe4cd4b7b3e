#include "src/toolchain/sdk_paths.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

namespace ringfence::internal {
namespace {

namespace fs = std::filesystem;

bool HasSdk(const fs::path& sdk) {
  std::error_code error;
  return fs::exists(sdk / "include/ringfence/module.h", error) &&
         fs::exists(sdk / "include/ringfence/internal/module_abi.h", error) &&
         fs::exists(sdk / "runtime/module_shim.c", error);
}

}  // namespace

StatusOr<SdkPaths> FindSdk(bool need_wasi_sysroot) {
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("RINGFENCE_SDK_DIR"); dir != nullptr && *dir != '\0') {
    candidates.emplace_back(dir);
  }
  std::error_code error;
  fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) candidates.push_back(exe.parent_path().parent_path() / "share/ringfence/sdk");
#ifdef RINGFENCE_SOURCE_DIR
  candidates.push_back(fs::path(RINGFENCE_SOURCE_DIR) / "sdk");
#endif
  for (const fs::path& sdk : candidates) {
    if (!HasSdk(sdk)) continue;
    SdkPaths paths{(sdk / "include").string(), (sdk / "runtime").string(), ""};
    if (!need_wasi_sysroot) return paths;
    const char* sysroot = std::getenv("RINGFENCE_WASI_SYSROOT");
    paths.wasi_sysroot = sysroot != nullptr && *sysroot != '\0' ? sysroot : "/usr";
    if (!fs::exists(fs::path(paths.wasi_sysroot) / "include/wasm32-wasi/stdio.h", error)) {
      return Status(StatusCode::kBuildFailed,
                    fmt::format("wasi-libc not found under {} (install the wasi-libc package: "
                                "run scripts/setup, or set RINGFENCE_WASI_SYSROOT)",
                                paths.wasi_sysroot));
    }
    return paths;
  }
  return Status(StatusCode::kBuildFailed,
                "cannot find the ringfence module SDK (include/ringfence/module.h and "
                "runtime/module_shim.c); set RINGFENCE_SDK_DIR to the directory that holds them");
}

}  // namespace ringfence::internal
