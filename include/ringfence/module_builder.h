// The module build driver behind `ringfence build` and ringfence_add_module.
//
//   C/C++ sources --clang wasm32-wasi--> module.wasm
//   module.wasm --wasm2c (libwabt)--> module.c --cc--> native shared object
//   descriptor + shared object --> module file
//
// A ready .wasm from any toolchain skips the first step.
//
// With `native` set, the sources are compiled natively instead, for a worker
// process: the module file's descriptor says isolation "process" and its
// code is a native shared object the host never loads.
//
// Implemented by the toolchain library (ringfence::ringfence_toolchain), not
// by the runtime library (ringfence::ringfence): a host that only loads
// modules does not link libwabt and LLVM.
#ifndef RINGFENCE_MODULE_BUILDER_H_
#define RINGFENCE_MODULE_BUILDER_H_

#include <functional>
#include <string>
#include <vector>

#include "ringfence/status.h"

namespace ringfence {

struct BuildOptions {
  std::vector<std::string> sources;  // .c/.cc/.cpp/.cxx files, or one .wasm
  std::string output;                // module file to write
  std::string name;                  // module name; default: output file stem
  std::vector<std::string> include_dirs;
  std::vector<std::string> defines;  // NAME or NAME=VALUE
  std::string opt_level = "2";       // 0 1 2 3 s z
  std::string wasm_compiler = "clang";
  std::string native_compiler = "cc";  // compiles wasm2c output
  // Build natively for the process backend (C/C++ sources only).
  bool native = false;
  // Compiler for native builds: a clang whose LLVM IR the toolchain's LLVM
  // (14) reads.
  std::string native_clang = "clang";
  bool keep_temps = false;           // keep the work directory and say where
  // Progress lines ("compiling calc.c", ...); may be empty.
  std::function<void(const std::string&)> progress;
  bool verbose = false;              // report each command through progress
};

// Builds the module file. Errors: kInvalidArgument (bad options, unknown
// source type, a .wasm input to a native build), kBuildFailed (a compiler
// failed: its own messages went to stderr; or the wasm imports something the
// host lacks, or a native export's signature is unsupported, named in the
// message), kIoError.
Status BuildModule(const BuildOptions& options);

}  // namespace ringfence

#endif  // RINGFENCE_MODULE_BUILDER_H_
