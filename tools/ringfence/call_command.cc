// ringfence call MODULE EXPORT [ARG...]   one call
// ringfence call MODULE -                 one call per stdin line
//
// With --report or --inject the module runs under a Supervisor: each trap's
// crash report is appended to the report file, and injected faults are
// counted and summed up at the end.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ringfence/compartment.h"
#include "ringfence/supervisor.h"
#include "tools/ringfence/call_line.h"
#include "tools/ringfence/commands.h"
#include "tools/ringfence/isolation_option.h"
#include "tools/ringfence/value_text.h"

namespace ringfence::cli {
namespace {

struct CallOptions {
  std::string module_path;
  std::string export_name;
  std::vector<std::string> args;
  uint64_t memory_limit_mib = 256;
  uint64_t timeout_ms = 0;
  std::string report_path;
  std::string inject_spec;
  uint64_t seed = 1;
  uint64_t repeat = 1;
  // --isolation; when not given, the module file's own backend is used.
  Isolation isolation = Isolation::kWasm;
  CLI::Option* isolation_option = nullptr;
};

// Runs calls on a bare compartment, or through a supervisor.
class Caller {
 public:
  virtual ~Caller() = default;
  virtual const Module& module() = 0;
  // The call's line: the value, a trap, or an error.
  virtual Result<std::optional<Value>> Call(const std::string& name, std::span<const Value> args) = 0;
};

class CompartmentCaller : public Caller {
 public:
  explicit CompartmentCaller(std::unique_ptr<Compartment> compartment)
      : compartment_(std::move(compartment)) {}
  const Module& module() override { return compartment_->module(); }
  Result<std::optional<Value>> Call(const std::string& name, std::span<const Value> args) override {
    return compartment_->CallDynamic(name, args);
  }

 private:
  std::unique_ptr<Compartment> compartment_;
};

// A supervised call that failed because the module died is shown as the
// trap that killed it (the crash report has the rest).
class SupervisedCaller : public Caller {
 public:
  SupervisedCaller(std::unique_ptr<Supervisor> supervisor, SupervisedModule* module)
      : supervisor_(std::move(supervisor)), module_(module) {}
  const Module& module() override { return module_->compartment().module(); }
  Result<std::optional<Value>> Call(const std::string& name, std::span<const Value> args) override {
    Result<std::optional<Value>> result = module_->CallDynamic(name, args);
    if (result.failed() && result.status().code() == StatusCode::kRestarted &&
        module_->compartment().last_trap()) {
      return *module_->compartment().last_trap();
    }
    return result;
  }
  Supervisor& supervisor() { return *supervisor_; }

 private:
  std::unique_ptr<Supervisor> supervisor_;
  SupervisedModule* module_;
};

// What one call printed: exactly one line, and how it went.
struct CallLine {
  std::string text;
  enum { kValue, kTrap, kError } outcome;
};

CallLine CallOnce(Caller& caller, const std::string& export_name,
                  const std::vector<std::string>& arg_texts) {
  std::optional<uint32_t> index = caller.module().FindExport(export_name);
  if (!index) {
    return {fmt::format("error: module {} has no export '{}'", caller.module().name(), export_name),
            CallLine::kError};
  }
  StatusOr<std::vector<Value>> args = ParseArguments(
      export_name, caller.module().descriptor().exports[*index].signature, arg_texts);
  if (!args.ok()) return {"error: " + args.status().message(), CallLine::kError};
  Result<std::optional<Value>> result = caller.Call(export_name, *args);
  if (result.trapped()) return {result.trap().ToString(), CallLine::kTrap};
  if (result.failed()) return {"error: " + result.status().message(), CallLine::kError};
  return {result.value() ? FormatValue(*result.value()) : "", CallLine::kValue};
}

int RunLines(Caller& caller) {
  std::string line;
  while (std::getline(std::cin, line)) {
    CallLineWords words = SplitCallLine(line);
    CallLine result = words.export_name.empty()
                          ? CallLine{"error: empty line (expected EXPORT [ARG...])", CallLine::kError}
                          : CallOnce(caller, words.export_name, words.args);
    std::printf("%s\n", result.text.c_str());
    std::fflush(stdout);
  }
  return kExitOk;
}

StatusOr<std::unique_ptr<Caller>> MakeCaller(const CallOptions& options,
                                             std::shared_ptr<const Module> module,
                                             const CompartmentOptions& compartment_options) {
  if (options.report_path.empty() && options.inject_spec.empty()) {
    StatusOr<std::unique_ptr<Compartment>> compartment =
        Compartment::Create(std::move(module), compartment_options);
    if (!compartment.ok()) return compartment.status();
    return std::unique_ptr<Caller>(new CompartmentCaller(std::move(compartment).value()));
  }
  SupervisorOptions supervision;
  // The trap line printed per call is the readable line; reports go to the file.
  supervision.crash_lines_on_stderr = false;
  supervision.root.intensity = {UINT32_MAX, std::chrono::seconds(1)};
  if (!options.inject_spec.empty()) {
    StatusOr<FaultPlan> plan = FaultPlan::Parse(options.inject_spec, options.seed);
    if (!plan.ok()) {
      return Status(plan.status().code(), "--inject: " + plan.status().message());
    }
    supervision.fault_injector = std::make_shared<FaultInjector>(*plan);
  }
  if (!options.report_path.empty()) {
    StatusOr<std::unique_ptr<CrashReportFile>> opened = CrashReportFile::Open(options.report_path);
    if (!opened.ok()) return opened.status();
    std::shared_ptr<CrashReportFile> file = std::move(opened).value();
    supervision.on_crash = [file](const CrashReport& report) { file->Write(report); };
  }
  StatusOr<std::unique_ptr<Supervisor>> supervisor = Supervisor::Create(std::move(supervision));
  if (!supervisor.ok()) return supervisor.status();
  ModuleOptions module_options;
  module_options.compartment = compartment_options;
  module_options.intensity = {UINT32_MAX, std::chrono::seconds(1)};
  module_options.backoff.initial = std::chrono::nanoseconds(0);
  std::string name = module->name();
  StatusOr<SupervisedModule*> supervised =
      (*supervisor)->AddModule(name, std::move(module), module_options);
  if (!supervised.ok()) return supervised.status();
  return std::unique_ptr<Caller>(new SupervisedCaller(std::move(supervisor).value(), *supervised));
}

// After a run with --inject: what was injected and what became of the calls.
void PrintInjectionSummary(Caller& caller, const CallOptions& options) {
  auto* supervised = dynamic_cast<SupervisedCaller*>(&caller);
  if (supervised == nullptr || options.inject_spec.empty()) return;
  Supervisor& supervisor = supervised->supervisor();
  InjectionCounts injected = supervisor.fault_injector()->counts();
  Supervisor::Totals totals = supervisor.totals();
  std::fprintf(stderr,
               "injection (seed %llu): injected %llu (%llu traps, %llu hangs, %llu slow-downs), "
               "recovered %llu, retried %llu, failed %llu, lost %llu, duplicates %llu\n",
               static_cast<unsigned long long>(options.seed),
               static_cast<unsigned long long>(injected.total()),
               static_cast<unsigned long long>(injected.traps),
               static_cast<unsigned long long>(injected.hangs),
               static_cast<unsigned long long>(injected.slows),
               static_cast<unsigned long long>(totals.restarts),
               static_cast<unsigned long long>(totals.retried),
               static_cast<unsigned long long>(totals.failed_calls),
               static_cast<unsigned long long>(totals.calls - totals.answered),
               static_cast<unsigned long long>(totals.duplicates));
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
  command->add_option("--report", options->report_path,
                      "Run supervised and append a crash report per trap to this file (JSON lines)");
  command->add_option("--inject", options->inject_spec,
                      "Run supervised with this fault plan, e.g. trap=0.1,hang=0.01,slow=0.1,"
                      "point=NAME:0.5,at=MODULE.EXPORT:3 (see docs/supervision.md); prints what "
                      "was injected at the end");
  command->add_option("--seed", options->seed, "Seed of --inject (same seed, same faults)")
      ->capture_default_str();
  options->isolation_option = AddIsolationOption(
      *command, &options->isolation,
      "The backend the module must be built for: wasm (run in this process, `ringfence build`) "
      "or process (run in a sandboxed worker process, `ringfence build --native`); a module "
      "built for the other one is refused (exit 2). Default: the module's own backend");
  command->add_option("--repeat", options->repeat, "Make the call this many times")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}));
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
    if (options->isolation_option->count() > 0) compartment_options.isolation = options->isolation;
    StatusOr<std::unique_ptr<Caller>> made = MakeCaller(*options, *module, compartment_options);
    if (!made.ok()) {
      std::fprintf(stderr, "ringfence call: error: %s\n", made.status().message().c_str());
      return static_cast<int>(kExitUsage);
    }
    Caller& caller = **made;
    if (options->export_name == "-") {
      if (!options->args.empty()) {
        std::fprintf(stderr, "ringfence call: error: no arguments go with '-': calls come from stdin\n");
        return static_cast<int>(kExitUsage);
      }
      int status = RunLines(caller);
      PrintInjectionSummary(caller, *options);
      return status;
    }
    int status = kExitOk;
    for (uint64_t i = 0; i < options->repeat; ++i) {
      CallLine result = CallOnce(caller, options->export_name, options->args);
      switch (result.outcome) {
        case CallLine::kValue:
          std::printf("%s\n", result.text.c_str());
          break;
        case CallLine::kTrap:
          std::fprintf(stderr, "%s\n", result.text.c_str());
          status = kExitTrap;
          break;
        case CallLine::kError:
          std::fprintf(stderr, "ringfence call: %s\n", result.text.c_str());
          if (status == kExitOk) status = kExitUsage;
          break;
      }
    }
    PrintInjectionSummary(caller, *options);
    return status;
  };
}

}  // namespace ringfence::cli
