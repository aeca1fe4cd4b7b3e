#include <cstdio>
#include <memory>

#include "ringfence/module_builder.h"
#include "tools/ringfence/commands.h"

namespace ringfence::cli {

CommandRunner AddBuildCommand(CLI::App& app) {
  auto options = std::make_shared<BuildOptions>();
  auto quiet = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand(
      "build",
      "Build a module file from C/C++ sources, or from a ready wasm32 module (.wasm) made by any "
      "toolchain.\nModule code sees only wasi-libc's and the SDK's headers.\nWith --native the "
      "sources are compiled natively (x86-64, host headers) for the process backend: the module "
      "runs in a sandboxed worker process, so it may use what wasm32 cannot (inline assembly, "
      "intrinsics).");
  command->add_option("sources", options->sources, "C (.c), C++ (.cc .cpp .cxx) or one .wasm")
      ->required();
  command->add_option("-o,--output", options->output, "Module file to write (e.g. calc.rfm)")
      ->required();
  command->add_option("-I", options->include_dirs, "Add an include directory");
  command->add_option("-D", options->defines, "Define a macro: NAME or NAME=VALUE");
  command->add_option("-O", options->opt_level, "Optimisation level: 0 1 2 3 s z")
      ->capture_default_str();
  command->add_option("--name", options->name, "Module name (default: output file stem)");
  command->add_option("--wasm-cc", options->wasm_compiler, "Compiler for wasm32")
      ->capture_default_str();
  command->add_option("--cc", options->native_compiler,
                      "Compiler for the native code translated from wasm")
      ->capture_default_str();
  command->add_flag("--native", options->native,
                    "Build for the process backend: compile the C/C++ sources natively into a "
                    "shared object run by a worker process (isolation \"process\"), not to wasm32");
  command->add_option("--native-cc", options->native_clang,
                      "clang for --native (its LLVM IR must be readable by LLVM 14)")
      ->capture_default_str();
  command->add_flag("--keep-temps", options->keep_temps, "Keep the intermediate files");
  command->add_flag("-v,--verbose", options->verbose, "Show each command run");
  command->add_flag("-q,--quiet", *quiet, "Print only errors");
  return [options, quiet] {
    if (!*quiet || options->verbose) {
      options->progress = [](const std::string& line) { std::fprintf(stderr, "ringfence: %s\n", line.c_str()); };
    }
    Status status = BuildModule(*options);
    if (!status.ok()) {
      std::fprintf(stderr, "ringfence build: error: %s\n", status.message().c_str());
      return static_cast<int>(kExitUsage);
    }
    return static_cast<int>(kExitOk);
  };
}

}  // namespace ringfence::cli
