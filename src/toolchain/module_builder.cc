#include "ringfence/module_builder.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ringfence/internal/module_abi.h"
#include "ringfence/module_file.h"
#include "src/base/sha256.h"
#include "src/module/module_file_format.h"
#include "src/toolchain/build_sandbox.h"
#include "src/toolchain/confined_run.h"
#include "src/toolchain/glue_writer.h"
#include "src/toolchain/native_builder.h"
#include "src/toolchain/sdk_paths.h"
#include "src/toolchain/stack_probe_check.h"
#include "src/toolchain/subprocess.h"
#include "src/toolchain/wasm_limits.h"
#include "src/toolchain/wasm_translation.h"

#ifndef RINGFENCE_VERSION
#define RINGFENCE_VERSION "0.0.0"
#endif
#ifndef RINGFENCE_OBJCOPY
#define RINGFENCE_OBJCOPY "llvm-objcopy-14"
#endif

namespace ringfence {
namespace {

namespace fs = std::filesystem;
using internal::RunCommand;

enum class SourceKind { kC, kCxx, kWasm, kUnknown };

SourceKind KindOf(const fs::path& path) {
  std::string extension = path.extension().string();
  if (extension == ".c") return SourceKind::kC;
  if (extension == ".cc" || extension == ".cpp" || extension == ".cxx" || extension == ".C") {
    return SourceKind::kCxx;
  }
  if (extension == ".wasm") return SourceKind::kWasm;
  return SourceKind::kUnknown;
}

// A scratch directory removed on scope exit unless kept.
class WorkDirectory {
 public:
  WorkDirectory(bool keep, const std::function<void(const std::string&)>& progress)
      : keep_(keep), progress_(progress) {}
  ~WorkDirectory() {
    if (path_.empty()) return;
    if (keep_) {
      if (progress_) progress_(fmt::format("kept intermediate files in {}", path_.string()));
      return;
    }
    std::error_code error;
    fs::remove_all(path_, error);
  }
  Status Create() {
    std::string pattern = (fs::temp_directory_path() / "ringfence-build-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return Status(StatusCode::kIoError,
                    fmt::format("cannot create a work directory: {}", std::strerror(errno)));
    }
    path_ = pattern;
    return Status::Ok();
  }
  const fs::path& path() const { return path_; }

 private:
  bool keep_;
  const std::function<void(const std::string&)>& progress_;
  fs::path path_;
};

StatusOr<std::vector<uint8_t>> ReadBytes(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Status(StatusCode::kIoError, fmt::format("cannot read {}: {}", path.string(),
                                                    std::strerror(errno)));
  }
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

Status WriteBytes(const fs::path& path, std::span<const uint8_t> bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  file.close();
  if (!file) {
    return Status(StatusCode::kIoError, fmt::format("cannot write {}", path.string()));
  }
  return Status::Ok();
}

Status WriteText(const fs::path& path, std::string_view text) {
  return WriteBytes(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

class Builder {
 public:
  Builder(const BuildOptions& options, const internal::SdkPaths& sdk, const fs::path& work,
          const internal::CommandOptions& commands)
      : options_(options), sdk_(sdk), work_(work), commands_(commands) {}

  void Progress(const std::string& line) const {
    if (options_.progress) options_.progress(line);
  }

  Status Run(const std::vector<std::string>& argv, std::string* output = nullptr) const {
    if (options_.verbose) Progress("$ " + internal::CommandLine(argv));
    internal::CommandOptions command = commands_;
    command.output = output;
    return RunCommand(argv, command);
  }

  // Sources -> one wasm32 reactor module. Module code sees only the SDK's and
  // wasi-libc's headers (-nostdinc): a header wasi-libc lacks is an error
  // rather than something silently taken from the host's /usr/include.
  StatusOr<fs::path> CompileToWasm() const {
    std::string resource_dir;
    RF_RETURN_IF_ERROR(Run({options_.wasm_compiler, "-print-resource-dir"}, &resource_dir));
    while (!resource_dir.empty() && std::isspace(static_cast<unsigned char>(resource_dir.back()))) {
      resource_dir.pop_back();
    }
    std::string wasi_include = sdk_.wasi_sysroot + "/include/wasm32-wasi";
    std::vector<std::string> objects;
    bool any_cxx = false;
    for (size_t i = 0; i < options_.sources.size(); ++i) {
      fs::path source = options_.sources[i];
      bool cxx = KindOf(source) == SourceKind::kCxx;
      any_cxx |= cxx;
      std::string object = (work_ / fmt::format("{}-{}.o", i, source.stem().string())).string();
      std::vector<std::string> argv = {options_.wasm_compiler, "--target=wasm32-wasi", "-nostdinc"};
      if (cxx) {
        argv.insert(argv.end(), {"-nostdinc++", "-std=c++20", "-fno-exceptions", "-isystem",
                                 wasi_include + "/c++/v1"});
      }
      argv.insert(argv.end(), {"-isystem", resource_dir + "/include", "-isystem", wasi_include,
                               "-isystem", sdk_.include_dir, "-O" + options_.opt_level,
                               "-D__ringfence_module__=1"});
      for (const std::string& dir : options_.include_dirs) argv.push_back("-I" + dir);
      for (const std::string& define : options_.defines) argv.push_back("-D" + define);
      argv.insert(argv.end(), {"-c", source.string(), "-o", object});
      Progress(fmt::format("compiling {}", source.string()));
      RF_RETURN_IF_ERROR(Run(argv));
      objects.push_back(object);
    }
    fs::path wasm = work_ / "module.wasm";
    std::vector<std::string> argv = {options_.wasm_compiler, "--target=wasm32-wasi",
                                     "--sysroot=" + sdk_.wasi_sysroot, "-mexec-model=reactor",
                                     "-Wl,--strip-debug", "-Wl,-z,stack-size=1048576",
                                     // The stack below the data: an overflowing
                                     // stack leaves the memory and traps instead
                                     // of overwriting the module's globals.
                                     "-Wl,--stack-first"};
    if (any_cxx) argv.insert(argv.end(), {"-lc++", "-lc++abi"});
    argv.insert(argv.end(), objects.begin(), objects.end());
    argv.insert(argv.end(), {"-o", wasm.string()});
    Progress("linking wasm32 module");
    RF_RETURN_IF_ERROR(Run(argv));
    return wasm;
  }

  // Glue + wasm2c output (written by TranslateToC) -> native shared object.
  StatusOr<fs::path> CompileNative() const {
    fs::path library = work_ / "module.so";
    std::vector<std::string> argv = {
        options_.native_compiler, "-std=gnu11", "-O" + options_.opt_level, "-fPIC", "-shared",
        "-fvisibility=hidden",
        // Keeps unbounded module recursion a recursion, so it meets the
        // stack guard instead of becoming an endless loop.
        "-fno-optimize-sibling-calls",
        // Frame pointers in every function, leaves included: a trap's
        // backtrace walks them (rf_walk_frames), in a signal handler.
        "-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer",
        // A frame larger than a page (many wasm locals, values or results)
        // probes each page it allocates, so it meets the guard page below
        // the stack instead of skipping it (checked below).
        "-fstack-clash-protection", "-w", "-I" + work_.string(), "-I" + sdk_.runtime_dir,
        "-I" + sdk_.include_dir};
    if (fs::path(options_.native_compiler).filename().string().find("clang") == std::string::npos) {
      argv.push_back("-fsignaling-nans");  // gcc: keep wasm's NaN semantics
    }
    argv.insert(argv.end(), {(work_ / "module_unit.c").string(), (work_ / "gates.c").string(),
                             "-o", library.string(), "-lm",
                             "-Wl,-z,defs", "-Wl,-z,now"});
    Progress("compiling native code");
    RF_RETURN_IF_ERROR(Run(argv));
    RF_RETURN_IF_ERROR(internal::CheckStackProbes(library.string()));
    return library;
  }

 private:
  const BuildOptions& options_;
  const internal::SdkPaths& sdk_;
  fs::path work_;
  const internal::CommandOptions& commands_;
};

Status CheckOptions(const BuildOptions& options) {
  if (options.sources.empty()) return Status(StatusCode::kInvalidArgument, "no source files given");
  if (options.output.empty()) {
    return Status(StatusCode::kInvalidArgument, "no output file given (-o MODULE)");
  }
  static const std::vector<std::string> kLevels = {"0", "1", "2", "3", "s", "z"};
  if (std::find(kLevels.begin(), kLevels.end(), options.opt_level) == kLevels.end()) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("unknown optimisation level '{}' (use 0, 1, 2, 3, s or z)",
                              options.opt_level));
  }
  size_t wasm_inputs = 0;
  for (const std::string& source : options.sources) {
    SourceKind kind = KindOf(source);
    if (kind == SourceKind::kUnknown) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("{}: unknown source type (use .c, .cc, .cpp, .cxx or .wasm)", source));
    }
    std::error_code error;
    if (!fs::is_regular_file(source, error)) {
      return Status(StatusCode::kInvalidArgument, fmt::format("{}: no such file", source));
    }
    if (kind == SourceKind::kWasm) ++wasm_inputs;
  }
  if (wasm_inputs > 0 && options.native) {
    return Status(StatusCode::kInvalidArgument,
                  "a .wasm input cannot be built natively (--native takes C/C++ sources)");
  }
  if (wasm_inputs > 0 && options.sources.size() > 1) {
    return Status(StatusCode::kInvalidArgument,
                  "a .wasm input is already a whole module: give it alone");
  }
  return Status::Ok();
}

std::string ModuleNameFor(const BuildOptions& options) {
  if (!options.name.empty()) return options.name;
  std::string stem = fs::path(options.output).stem().string();
  return stem.empty() ? "module" : stem;
}


// The installation prefix of a program run by name (PATH) or path: the
// directory above the bin/ its real file is in ("" if not found).
std::string ToolchainPrefix(const std::string& program) {
  std::vector<fs::path> candidates;
  if (program.find('/') != std::string::npos) {
    candidates.emplace_back(program);
  } else if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      if (!dir.empty()) candidates.push_back(fs::path(dir) / program);
    }
  }
  for (const fs::path& candidate : candidates) {
    std::error_code error;
    fs::path real = fs::canonical(candidate, error);
    if (!error && fs::is_regular_file(real, error)) return real.parent_path().parent_path().string();
  }
  return "";
}

// What the compilers of this build may touch (build_sandbox.h).
internal::SandboxPaths SandboxPathsFor(const BuildOptions& options, const internal::SdkPaths& sdk,
                                       const fs::path& work) {
  internal::SandboxPaths paths;
  paths.executable = internal::BuildSandbox::SystemDirectories();
  for (const std::string& program : {options.wasm_compiler, options.native_compiler,
                                     options.native_clang, std::string(RINGFENCE_OBJCOPY)}) {
    std::string prefix = ToolchainPrefix(program);
    if (!prefix.empty()) paths.executable.push_back(prefix);
  }
  paths.readable = {sdk.include_dir, sdk.runtime_dir};
  if (!sdk.wasi_sysroot.empty()) paths.readable.push_back(sdk.wasi_sysroot);
  // Each source, and the files beside it (where C looks first for a header
  // included with quotes) - not the directories below: a source in $HOME
  // or /tmp must not open all of it to the compiler.
  std::set<fs::path> source_dirs;
  for (const std::string& source : options.sources) {
    std::error_code error;
    paths.readable.push_back(fs::absolute(source, error).string());
    source_dirs.insert(fs::absolute(source, error).parent_path());
  }
  for (const fs::path& dir : source_dirs) {
    std::error_code error;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
      if (entry.is_regular_file(error)) paths.readable.push_back(entry.path().string());
    }
  }
  for (const std::string& dir : options.include_dirs) paths.readable.push_back(dir);
  paths.writable = {work.string()};
  return paths;
}

// Limits for translating a .wasm to C (RunConfined). wabt needs about 80
// times the file's size (2.5 MB of wasm: 210 MiB), so 4 GiB fits files
// towards the size limit (kMaxWasmFileBytes).
constexpr internal::ConfinedLimits kTranslationLimits{uint64_t{4} << 30, 300, 600};

StatusOr<std::vector<uint8_t>> ReadWasm(const fs::path& path) {
  std::error_code error;
  uintmax_t size = fs::file_size(path, error);
  if (!error) RF_RETURN_IF_ERROR(internal::CheckWasmFileSize(size, path.string()));
  return ReadBytes(path);
}

// The .wasm -> C step, which parses the hostile input: writes module.c,
// module.h (wasm2c's output), module_unit.c and gates.c (the glue) into
// `work`; returns the descriptor (without code) and the exports skipped, as
// JSON. Runs in a confined child (RunConfined).
StatusOr<std::string> TranslateToC(const fs::path& wasm_path, const fs::path& work,
                                   const std::string& name) {
  StatusOr<std::vector<uint8_t>> wasm = ReadWasm(wasm_path);
  if (!wasm.ok()) return wasm.status();
  StatusOr<internal::WasmTranslation> translation = internal::TranslateWasm(*wasm, wasm_path.string());
  if (!translation.ok()) return translation.status();
  StatusOr<internal::GlueSources> glue = internal::WriteGlue(*translation, name);
  if (!glue.ok()) return glue.status();
  RF_RETURN_IF_ERROR(WriteText(work / "module.c", translation->c_source));
  RF_RETURN_IF_ERROR(WriteText(work / "module.h", translation->c_header));
  RF_RETURN_IF_ERROR(WriteText(work / "module_unit.c", glue->module_unit));
  RF_RETURN_IF_ERROR(WriteText(work / "gates.c", glue->gates_unit));

  ModuleDescriptor descriptor;
  descriptor.name = name;
  descriptor.abi_version = RF_MODULE_ABI_VERSION;
  // The wasm the code comes from, as provenance; content_hash (what
  // Module::Load verifies) is the code's, known once it is compiled.
  descriptor.source_hash = translation->content_hash;
  descriptor.exports = translation->exports;
  descriptor.imports = translation->imports;
  descriptor.memory = translation->memory;
  descriptor.function_count = static_cast<uint32_t>(translation->function_names.size());
  descriptor.built_by = "ringfence " RINGFENCE_VERSION;
  nlohmann::json answer = {{"descriptor", descriptor.ToJson()},
                           {"skipped", translation->skipped_exports}};
  return answer.dump();
}

// The module file's descriptor and code, built for the wasm backend.
StatusOr<internal::BuiltModule> BuildWasmCode(const BuildOptions& options,
                                              const internal::SdkPaths& sdk,
                                              const fs::path& work, const std::string& name,
                                              const internal::CommandOptions& commands) {
  Builder builder(options, sdk, work, commands);
  fs::path wasm_path = options.sources[0];
  if (KindOf(wasm_path) != SourceKind::kWasm) {
    StatusOr<fs::path> built = builder.CompileToWasm();
    if (!built.ok()) return built.status();
    wasm_path = *built;
  }

  builder.Progress("translating wasm to C");
  StatusOr<std::string> translated =
      internal::RunConfined(fmt::format("translating {} to C", wasm_path.string()),
                            kTranslationLimits, [&] { return TranslateToC(wasm_path, work, name); });
  if (!translated.ok()) return translated.status();
  nlohmann::json answer = nlohmann::json::parse(*translated, nullptr, /*allow_exceptions=*/false);
  StatusOr<ModuleDescriptor> descriptor =
      answer.is_object() && answer["descriptor"].is_string()
          ? ModuleDescriptor::FromJson(answer["descriptor"].get<std::string>())
          : Status(StatusCode::kInternal, "the translation step gave a malformed answer");
  if (!descriptor.ok()) return descriptor.status();
  for (const nlohmann::json& skipped : answer["skipped"]) {
    if (!skipped.is_string()) continue;
    builder.Progress(fmt::format("warning: export {} is not callable from the host, skipped",
                                 skipped.get<std::string>()));
  }
  StatusOr<fs::path> library = builder.CompileNative();
  if (!library.ok()) return library.status();
  StatusOr<std::vector<uint8_t>> code = ReadBytes(*library);
  if (!code.ok()) return code.status();

  internal::BuiltModule build;
  build.code = std::move(*code);
  build.descriptor = std::move(*descriptor);
  build.descriptor.content_hash = internal::Sha256Text(build.code);
  return build;
}

}  // namespace

Status BuildModule(const BuildOptions& options) {
  RF_RETURN_IF_ERROR(CheckOptions(options));
  StatusOr<internal::SdkPaths> sdk = internal::FindSdk(/*need_wasi_sysroot=*/!options.native);
  if (!sdk.ok()) return sdk.status();
  WorkDirectory work(options.keep_temps, options.progress);
  RF_RETURN_IF_ERROR(work.Create());
  std::string name = ModuleNameFor(options);
  internal::BuildSandbox sandbox = internal::BuildSandbox::Create(SandboxPathsFor(options, *sdk, work.path()));
  if (!sandbox.warning().empty() && options.progress) options.progress("warning: " + sandbox.warning());
  internal::CommandOptions commands;
  commands.landlock_ruleset = sandbox.fd();
  commands.temp_dir = work.path().string();
  StatusOr<internal::BuiltModule> build =
      options.native ? internal::BuildNativeCode(options, *sdk, work.path(), name, commands)
                     : BuildWasmCode(options, *sdk, work.path(), name, commands);
  if (!build.ok()) return build.status();
  const ModuleDescriptor& descriptor = build->descriptor;
  std::vector<uint8_t> file = internal::PackModuleFile(descriptor.ToJson(), build->code);
  auto progress = [&](const std::string& line) {
    if (options.progress) options.progress(line);
  };

  // Written beside the target and renamed, so a failed build never leaves a
  // half-written module behind.
  fs::path output = options.output;
  fs::path staging = output;
  staging += ".partial";
  RF_RETURN_IF_ERROR(WriteBytes(staging, file));
  std::error_code error;
  fs::rename(staging, output, error);
  if (error) {
    return Status(StatusCode::kIoError,
                  fmt::format("cannot write {}: {}", output.string(), error.message()));
  }
  progress(fmt::format("wrote {} ({} exports, {} bytes)", output.string(),
                               descriptor.exports.size(), file.size()));
  return Status::Ok();
}

}  // namespace ringfence
