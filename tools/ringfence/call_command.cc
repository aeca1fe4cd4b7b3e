// ringfence call MODULE EXPORT [ARG...]   one call
// ringfence call MODULE -                 one call per stdin line
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ringfence/compartment.h"
#include "tools/ringfence/commands.h"
#include "tools/ringfence/value_text.h"

namespace ringfence::cli {
namespace {

struct CallOptions {
  std::string module_path;
  std::string export_name;
  std::vector<std::string> args;
  uint64_t memory_limit_mib = 256;
  uint64_t timeout_ms = 0;
};

// What one call printed: exactly one line, and how it went.
struct CallLine {
  std::string text;
  enum { kValue, kTrap, kError } outcome;
};

CallLine CallOnce(Compartment& compartment, const std::string& export_name,
                  const std::vector<std::string>& arg_texts) {
  std::optional<uint32_t> index = compartment.module().FindExport(export_name);
  if (!index) {
    return {fmt::format("error: module {} has no export '{}'", compartment.module().name(), export_name),
            CallLine::kError};
  }
  const Signature& signature = compartment.module().descriptor().exports[*index].signature;
  if (arg_texts.size() != signature.params.size()) {
    return {fmt::format("error: {} takes {} argument(s) {}, got {}", export_name,
                        signature.params.size(), signature.ToString(), arg_texts.size()),
            CallLine::kError};
  }
  std::vector<Value> args;
  for (size_t i = 0; i < arg_texts.size(); ++i) {
    StatusOr<Value> value = ParseValue(arg_texts[i], signature.params[i]);
    if (!value.ok()) {
      return {fmt::format("error: argument {} of {}: {}", i + 1, export_name, value.status().message()),
              CallLine::kError};
    }
    args.push_back(*value);
  }
  Result<std::optional<Value>> result = compartment.CallDynamic(export_name, args);
  if (result.trapped()) return {result.trap().ToString(), CallLine::kTrap};
  if (result.failed()) return {"error: " + result.status().message(), CallLine::kError};
  return {result.value() ? FormatValue(*result.value()) : "", CallLine::kValue};
}

int RunLines(Compartment& compartment) {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string export_name;
    std::vector<std::string> args;
    words >> export_name;
    for (std::string word; words >> word;) args.push_back(word);
    CallLine result = export_name.empty()
                          ? CallLine{"error: empty line (expected EXPORT [ARG...])", CallLine::kError}
                          : CallOnce(compartment, export_name, args);
    std::printf("%s\n", result.text.c_str());
    std::fflush(stdout);
  }
  return kExitOk;
}

}  // namespace

CommandRunner AddCallCommand(CLI::App& app) {
  auto options = std::make_shared<CallOptions>();
  CLI::App* command = app.add_subcommand(
      "call",
      "Call one export of a module and print its result.\n"
      "With EXPORT '-', read one call per line from stdin (EXPORT ARG...) and print exactly one "
      "line per input line: the value, a 'trap:' line, or an 'error:' line; the module is "
      "restarted after each trap.\nOptions go before MODULE.\nExit codes: 0 ok, 2 usage or load "
      "error, 3 trap.");
  command->add_option("module", options->module_path, "Module file")->required();
  command->add_option("export", options->export_name, "Export to call, or - to read calls from stdin")
      ->required();
  command->add_option("args", options->args, "Arguments (decimal/0x integers; floats, inf, nan)");
  command->add_option("--memory-limit", options->memory_limit_mib, "Memory limit in MiB")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{4096}));
  command
      ->add_option("--timeout-ms", options->timeout_ms,
                   "Deadline of each call in milliseconds (0: none); a module still running then "
                   "is stopped with a 'trap: timeout'")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{0}, uint64_t{86'400'000}));
  // Once MODULE is seen, everything is positional: "-inf", "-nan" and "-5"
  // are arguments, not options. Options go before MODULE.
  command->positionals_at_end();
  return [options] {
    // "--" after MODULE (needed before -inf could be passed as is) still
    // just ends the options.
    if (options->export_name == "--" && !options->args.empty()) {
      options->export_name = options->args.front();
      options->args.erase(options->args.begin());
    } else if (!options->args.empty() && options->args.front() == "--") {
      options->args.erase(options->args.begin());
    }
    StatusOr<std::shared_ptr<const Module>> module = Module::Load(options->module_path);
    if (!module.ok()) {
      std::fprintf(stderr, "ringfence call: error: %s\n", module.status().message().c_str());
      return static_cast<int>(kExitUsage);
    }
    CompartmentOptions compartment_options;
    compartment_options.memory_limit_bytes = options->memory_limit_mib << 20;
    compartment_options.call_timeout = std::chrono::milliseconds(options->timeout_ms);
    StatusOr<std::unique_ptr<Compartment>> compartment = Compartment::Create(*module, compartment_options);
    if (!compartment.ok()) {
      std::fprintf(stderr, "ringfence call: error: %s\n", compartment.status().message().c_str());
      return static_cast<int>(kExitUsage);
    }
    if (options->export_name == "-") {
      if (!options->args.empty()) {
        std::fprintf(stderr, "ringfence call: error: no arguments go with '-': calls come from stdin\n");
        return static_cast<int>(kExitUsage);
      }
      return RunLines(**compartment);
    }
    CallLine result = CallOnce(**compartment, options->export_name, options->args);
    switch (result.outcome) {
      case CallLine::kValue:
        std::printf("%s\n", result.text.c_str());
        return static_cast<int>(kExitOk);
      case CallLine::kTrap:
        std::fprintf(stderr, "%s\n", result.text.c_str());
        return static_cast<int>(kExitTrap);
      case CallLine::kError:
        std::fprintf(stderr, "ringfence call: %s\n", result.text.c_str());
        return static_cast<int>(kExitUsage);
    }
    return static_cast<int>(kExitUsage);
  };
}

}  // namespace ringfence::cli
