// The ringfence CLI's subcommands. Each Add*Command registers its subcommand
// and options on the app and returns what runs it once the command line is
// parsed.
#ifndef RINGFENCE_TOOLS_RINGFENCE_COMMANDS_H_
#define RINGFENCE_TOOLS_RINGFENCE_COMMANDS_H_

#include <functional>

#include <CLI/CLI.hpp>

namespace ringfence::cli {

// Exit codes shared by every subcommand.
enum ExitCode {
  kExitOk = 0,
  kExitFailure = 1,  // the command ran and something went wrong (e.g. a benchmark target missed)
  kExitUsage = 2,    // bad command line, unloadable module, failed build
  kExitTrap = 3,     // the module trapped
};

using CommandRunner = std::function<int()>;

CommandRunner AddBuildCommand(CLI::App& app);
CommandRunner AddCallCommand(CLI::App& app);
CommandRunner AddInspectCommand(CLI::App& app);
CommandRunner AddBenchCommand(CLI::App& app);
CommandRunner AddDemoCommand(CLI::App& app);

}  // namespace ringfence::cli

#endif  // RINGFENCE_TOOLS_RINGFENCE_COMMANDS_H_
