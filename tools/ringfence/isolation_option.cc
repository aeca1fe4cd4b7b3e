#include "tools/ringfence/isolation_option.h"

#include <map>

namespace ringfence::cli {

CLI::Option* AddIsolationOption(CLI::App& command, Isolation* value, const std::string& help) {
  // Names from IsolationName, so the CLI spells them as the library does.
  std::map<std::string, Isolation> names;
  for (Isolation isolation : {Isolation::kWasm, Isolation::kProcess}) {
    names.emplace(std::string(IsolationName(isolation)), isolation);
  }
  return command.add_option("--isolation", *value, help)
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case))
      ->option_text("wasm|process");
}

}  // namespace ringfence::cli
