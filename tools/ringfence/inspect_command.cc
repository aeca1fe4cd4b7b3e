// ringfence inspect MODULE: what a module file says about itself.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "ringfence/module_file.h"
#include "tools/ringfence/commands.h"

namespace ringfence::cli {

CommandRunner AddInspectCommand(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand(
      "inspect", "Check a module file and print its descriptor: name, ABI, hash, isolation (wasm or "
      "process, with the number of native functions), exports, imports.");
  command->add_option("module", *path, "Module file")->required();
  command->add_flag("--json", *json, "Print the descriptor as JSON");
  return [path, json] {
    // The descriptor only: inspecting a module never maps or runs its code.
    StatusOr<ModuleDescriptor> read = ReadModuleDescriptor(*path);
    StatusOr<std::vector<ExportCallClass>> call_classes =
        read.ok() ? read->CallClasses(*path)
                  : StatusOr<std::vector<ExportCallClass>>(read.status());
    if (!call_classes.ok()) {
      std::fprintf(stderr, "ringfence inspect: error: %s\n",
                   call_classes.status().message().c_str());
      return static_cast<int>(kExitUsage);
    }
    const ModuleDescriptor& descriptor = *read;
    if (*json) {
      std::printf("%s\n", descriptor.ToJson(2).c_str());
      return static_cast<int>(kExitOk);
    }
    std::string text = fmt::format("module {} (ABI {}, {}, {} functions, built by {})\n",
                                   descriptor.name, descriptor.abi_version, descriptor.content_hash,
                                   descriptor.function_count, descriptor.built_by);
    if (!descriptor.source_hash.empty()) {
      text += fmt::format("translated from wasm {}\n", descriptor.source_hash);
    }
    // Where the code runs decides how `ringfence call` hosts it.
    text += fmt::format("isolation: {}", IsolationName(descriptor.isolation));
    if (descriptor.isolation == Isolation::kProcess) {
      text += fmt::format(" (sandboxed worker process, {} native functions)",
                          descriptor.native_functions.size());
    } else {
      text += " (in-process window)";
    }
    text += "\n";
    if (descriptor.memory) {
      text += fmt::format("memory: {} pages initial, {} max (64 KiB pages)\n",
                          descriptor.memory->initial_pages, descriptor.memory->max_pages);
    }
    // Call-class markers are shown as the class of the export they name.
    std::string exports;
    size_t shown = 0;
    for (uint32_t i = 0; i < descriptor.exports.size(); ++i) {
      const ExportInfo& info = descriptor.exports[i];
      if (info.IsCallClassMarker()) continue;
      ++shown;
      exports += fmt::format("  {} {}", info.name, info.signature.ToString());
      const ExportCallClass& call_class = (*call_classes)[i];
      if (call_class.call_class != CallClass::kNeither) {
        exports += fmt::format("  [{}{}]", CallClassName(call_class.call_class),
                               call_class.key_param
                                   ? fmt::format(", keyed by parameter {}", *call_class.key_param)
                                   : "");
      }
      exports += "\n";
    }
    text += fmt::format("exports ({}):\n{}", shown, exports);
    text += fmt::format("imports ({}):\n", descriptor.imports.size());
    for (const ImportInfo& info : descriptor.imports) {
      text += fmt::format("  {}.{} {}\n", info.module, info.name, info.signature.ToString());
    }
    std::fputs(text.c_str(), stdout);
    return static_cast<int>(kExitOk);
  };
}

}  // namespace ringfence::cli
