// The --isolation wasm|process option of `ringfence call` and `ringfence demo`.
#ifndef RINGFENCE_TOOLS_RINGFENCE_ISOLATION_OPTION_H_
#define RINGFENCE_TOOLS_RINGFENCE_ISOLATION_OPTION_H_

#include <string>

#include <CLI/CLI.hpp>

#include "ringfence/module_file.h"

namespace ringfence::cli {

// Adds "--isolation" to `command`, parsed into `*value` ("wasm" or
// "process", any case; anything else is a usage error). `*value` must
// outlive the parse. Returns the option, so callers can ask whether it was
// given (count()).
CLI::Option* AddIsolationOption(CLI::App& command, Isolation* value, const std::string& help);

}  // namespace ringfence::cli

#endif  // RINGFENCE_TOOLS_RINGFENCE_ISOLATION_OPTION_H_
