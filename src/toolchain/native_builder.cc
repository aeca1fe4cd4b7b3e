#include "src/toolchain/native_builder.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "ringfence/internal/module_abi.h"
#include "src/base/sha256.h"
#include "src/module/native_code_check.h"
#include "src/toolchain/elf_functions.h"
#include "src/toolchain/native_glue_writer.h"
#include "src/toolchain/native_interface.h"
#include "src/toolchain/subprocess.h"

#ifndef RINGFENCE_VERSION
#define RINGFENCE_VERSION "0.0.0"
#endif
#ifndef RINGFENCE_OBJCOPY
#define RINGFENCE_OBJCOPY "llvm-objcopy-14"
#endif

namespace ringfence::internal {
namespace {

namespace fs = std::filesystem;

bool IsCxx(const fs::path& path) {
  std::string extension = path.extension().string();
  return extension == ".cc" || extension == ".cpp" || extension == ".cxx" || extension == ".C";
}

class NativeBuilder {
 public:
  NativeBuilder(const BuildOptions& options, const SdkPaths& sdk, const fs::path& work,
                const CommandOptions& commands)
      : options_(options), sdk_(sdk), work_(work), commands_(commands) {}

  void Progress(const std::string& line) const {
    if (options_.progress) options_.progress(line);
  }

  Status Run(const std::vector<std::string>& argv) const {
    if (options_.verbose) Progress("$ " + CommandLine(argv));
    return RunCommand(argv, commands_);
  }

  // The flags every native compile of module code shares. Frame pointers
  // everywhere: a crashed worker's backtrace walks them.
  std::vector<std::string> CompileFlags(bool cxx) const {
    std::vector<std::string> argv = {options_.native_clang};
    if (cxx) argv.insert(argv.end(), {"--driver-mode=g++", "-std=c++20", "-fno-exceptions"});
    argv.insert(argv.end(), {"-O" + options_.opt_level, "-fPIC", "-fvisibility=hidden",
                             "-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer",
                             "-D__ringfence_module__=1", "-D__ringfence_native__=1",
                             "-I" + sdk_.include_dir});
    return argv;
  }

  // Sources -> bitcode, one file each, in source order.
  StatusOr<std::vector<std::string>> CompileToBitcode() const {
    std::vector<std::string> bitcode;
    for (size_t i = 0; i < options_.sources.size(); ++i) {
      fs::path source = options_.sources[i];
      std::string output = (work_ / fmt::format("{}-{}.bc", i, source.stem().string())).string();
      std::vector<std::string> argv = CompileFlags(IsCxx(source));
      for (const std::string& dir : options_.include_dirs) argv.push_back("-I" + dir);
      for (const std::string& define : options_.defines) argv.push_back("-D" + define);
      argv.insert(argv.end(), {"-c", "-emit-llvm", source.string(), "-o", output});
      Progress(fmt::format("compiling {} (native)", source.string()));
      RF_RETURN_IF_ERROR(Run(argv));
      bitcode.push_back(output);
    }
    return bitcode;
  }

  // Bitcode -> object whose constructors no longer run at dlopen: its
  // .init_array/.ctors are renamed to sections start() walks (their
  // __start_/__stop_ symbols), and the interface markers, which only the IR
  // needed, are dropped.
  StatusOr<std::string> CompileObject(const std::string& bitcode) const {
    std::string object = fs::path(bitcode).replace_extension(".o").string();
    RF_RETURN_IF_ERROR(Run({options_.native_clang, "-O" + options_.opt_level, "-fPIC", "-c",
                            bitcode, "-o", object}));
    RF_RETURN_IF_ERROR(Run({RINGFENCE_OBJCOPY,
                            fmt::format("--rename-section=.init_array={}", kNativeInitArraySection),
                            fmt::format("--rename-section=.ctors={}", kNativeCtorsSection),
                            "--wildcard", "--remove-section=ringfence.call_class:*", object}));
    return object;
  }

  StatusOr<fs::path> Link(const std::vector<std::string>& objects, bool any_cxx) const {
    fs::path library = work_ / "module.so";
    std::vector<std::string> argv = {options_.native_clang};
    if (any_cxx) argv.push_back("--driver-mode=g++");
    argv.insert(argv.end(), {"-shared", "-fPIC"});
    argv.insert(argv.end(), objects.begin(), objects.end());
    // -Bsymbolic: the module's references to its own functions bind to them.
    // Without it an export named like a libc function (minifs's `mount`)
    // resolves to libc's, which the worker loaded first, and the call makes
    // that system call instead.
    // -nostartfiles: no crti/crtbegin, whose _init, frame_dummy and
    // destructor hooks are code the dynamic loader would run (DT_INIT,
    // DT_INIT_ARRAY, DT_FINI_ARRAY); the shim defines the __dso_handle that
    // crtbegin would. -z noexecstack: CheckNativeCode refuses any other.
    argv.insert(argv.end(), {"-o", library.string(), "-nostartfiles", "-lm", "-Wl,-z,defs",
                             "-Wl,-z,now", "-Wl,-z,noexecstack", "-Wl,-Bsymbolic"});
    Progress("linking native module");
    RF_RETURN_IF_ERROR(Run(argv));
    return library;
  }

 private:
  const BuildOptions& options_;
  const SdkPaths& sdk_;
  fs::path work_;
  const CommandOptions& commands_;
};

StatusOr<std::vector<uint8_t>> ReadFileBytes(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Status(StatusCode::kIoError,
                  fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  }
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(file)),
                              std::istreambuf_iterator<char>());
}

}  // namespace

StatusOr<BuiltModule> BuildNativeCode(const BuildOptions& options, const SdkPaths& sdk,
                                      const fs::path& work, const std::string& module_name,
                                      const CommandOptions& commands) {
  fs::path shim = fs::path(sdk.runtime_dir) / "native_module_shim.c";
  std::error_code error;
  if (!fs::exists(shim, error) ||
      !fs::exists(fs::path(sdk.include_dir) / "ringfence/internal/native_abi.h", error)) {
    return Status(StatusCode::kBuildFailed,
                  fmt::format("the module SDK in {} lacks the native runtime "
                              "(runtime/native_module_shim.c, include/ringfence/internal/"
                              "native_abi.h)",
                              fs::path(sdk.runtime_dir).parent_path().string()));
  }
  NativeBuilder builder(options, sdk, work, commands);
  StatusOr<std::vector<std::string>> bitcode = builder.CompileToBitcode();
  if (!bitcode.ok()) return bitcode.status();
  StatusOr<NativeInterface> interface = ReadNativeInterface(*bitcode);
  if (!interface.ok()) return interface.status();

  std::vector<std::string> objects;
  bool any_cxx = false;
  for (size_t i = 0; i < bitcode->size(); ++i) {
    any_cxx |= IsCxx(options.sources[i]);
    StatusOr<std::string> object = builder.CompileObject((*bitcode)[i]);
    if (!object.ok()) return object.status();
    objects.push_back(*object);
  }
  fs::path glue = work / "native_glue.c";
  {
    std::ofstream file(glue, std::ios::trunc);
    file << WriteNativeGlue(*interface, module_name);
    file.close();
    if (!file) return Status(StatusCode::kIoError, fmt::format("cannot write {}", glue.string()));
  }
  for (const fs::path& runtime : {glue, shim}) {
    std::string object = (work / (runtime.stem().string() + ".o")).string();
    std::vector<std::string> argv = builder.CompileFlags(false);
    argv.insert(argv.end(), {"-std=gnu11", "-c", runtime.string(), "-o", object});
    RF_RETURN_IF_ERROR(builder.Run(argv));
    objects.push_back(object);
  }
  StatusOr<fs::path> library = builder.Link(objects, any_cxx);
  if (!library.ok()) return library.status();

  BuiltModule build;
  StatusOr<std::vector<uint8_t>> code = ReadFileBytes(*library);
  if (!code.ok()) return code.status();
  // What the host and the worker will refuse is refused here, with the
  // reason: e.g. a function pointer placed in .init_array.N by hand (only
  // the plain .init_array and .ctors are moved to start()), an IFUNC.
  if (Status checked = CheckNativeCode(*code); !checked.ok()) {
    return Status(StatusCode::kBuildFailed,
                  fmt::format("module {}: {}; a native module's code may run only after the "
                              "worker has locked itself down (constructors: plain "
                              "__attribute__((constructor)) or C++ initialisers)",
                              module_name, checked.message()));
  }
  build.code = std::move(*code);
  StatusOr<std::vector<NativeFunction>> functions = ReadElfFunctions(library->string());
  if (!functions.ok()) return functions.status();

  ModuleDescriptor& descriptor = build.descriptor;
  descriptor.name = module_name;
  descriptor.abi_version = RF_MODULE_ABI_VERSION;
  descriptor.content_hash = Sha256Text(build.code);
  for (NativeExport& entry : interface->exports) descriptor.exports.push_back(std::move(entry.info));
  for (NativeImport& import : interface->imports) descriptor.imports.push_back(std::move(import.info));
  descriptor.function_count = static_cast<uint32_t>(functions->size());
  descriptor.built_by = "ringfence " RINGFENCE_VERSION;
  descriptor.isolation = Isolation::kProcess;
  descriptor.native_functions = std::move(*functions);
  return build;
}

}  // namespace ringfence::internal
