// Where the module SDK lives: in the source tree for a build-tree ringfence,
// under <prefix>/share/ringfence for an installed one, or where
// RINGFENCE_SDK_DIR points.
#ifndef RINGFENCE_SRC_TOOLCHAIN_SDK_PATHS_H_
#define RINGFENCE_SRC_TOOLCHAIN_SDK_PATHS_H_

#include <string>

#include "ringfence/status.h"

namespace ringfence::internal {

struct SdkPaths {
  std::string include_dir;   // holds ringfence/module.h and ringfence/internal/module_abi.h
  std::string runtime_dir;   // holds module_shim.c
  std::string wasi_sysroot;        // holds include/wasm32-wasi, lib/wasm32-wasi
};

// `need_wasi_sysroot`: fail unless wasi-libc is found (wasm builds need it,
// native builds do not; wasi_sysroot is then empty).
StatusOr<SdkPaths> FindSdk(bool need_wasi_sysroot = true);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_SDK_PATHS_H_
