// ringfence: build modules, call them, watch them crash and come back.
#include <cstdio>
#include <vector>

#include "tools/ringfence/commands.h"

int main(int argc, char** argv) {
  using namespace ringfence::cli;
  CLI::App app{"ringfence: host untrusted C/C++ code as modules that crash alone.\n"
               "Exit codes: 0 ok, 2 usage, load or build error, 3 module trap."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ringfence " RINGFENCE_VERSION);
  std::vector<std::pair<CLI::App*, CommandRunner>> commands;
  auto add = [&](CommandRunner (*adder)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    CommandRunner runner = adder(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(runner));
  };
  add(AddBuildCommand);
  add(AddCallCommand);
  add(AddInspectCommand);
  add(AddBenchCommand);
  add(AddDemoCommand);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (auto& [command, runner] : commands) {
    if (command->parsed()) return runner();
  }
  return kExitUsage;
}
