// ringfence bench: every headline figure from one run.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "bench/figures.h"
#include "tools/ringfence/commands.h"
#include "tools/ringfence/module_dir.h"

namespace ringfence::cli {
namespace {

struct BenchOptions {
  bool json = false;
  bool quick = false;
  std::string module_dir;
};

}  // namespace

CommandRunner AddBenchCommand(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* command = app.add_subcommand(
      "bench",
      "Measure the headline figures in one run (gate call vs direct call, import call, trap and "
      "restart latency, instantiation, compute ratio, watchdog overhead, nested module call, "
      "module lock round trip, restart with 64 handles open), the process backend's (a call "
      "into a worker process vs a pipe ping-pong in the same run: process_call_ns, pipe_rtt_ns, "
      "process_rtt_ratio; worker restart from the pool's idle worker, with none, and "
      "pre-started: process_restart_us_*, process_spawn_restart_us_p50, "
      "process_prestarted_restart_us_*; a CPU-bound module in a worker: "
      "process_compute_ratio), "
      "and check them against their targets.\n"
      "Exit code 1 if a target is missed (not with --quick).");
  command->add_flag("--json", options->json, "Print one JSON object instead of a table");
  command->add_flag("--quick", options->quick, "Few iterations: a smoke run, not for quoting");
  command->add_option("--modules", options->module_dir, "Directory with the example modules");
  return [options] {
    StatusOr<std::string> dir = FindModuleDir(options->module_dir);
    if (!dir.ok()) {
      std::fprintf(stderr, "ringfence bench: error: %s\n", dir.status().message().c_str());
      return static_cast<int>(kExitUsage);
    }
    bench::FigureOptions figure_options;
    figure_options.module_dir = *dir;
    figure_options.quick = options->quick;
    figure_options.progress = [](const std::string& what) {
      std::fprintf(stderr, "ringfence bench: measuring %s...\n", what.c_str());
    };
    StatusOr<std::vector<bench::Figure>> figures = bench::MeasureFigures(figure_options);
    if (!figures.ok()) {
      std::fprintf(stderr, "ringfence bench: error: %s\n", figures.status().ToString().c_str());
      return static_cast<int>(kExitFailure);
    }
    bool all_met = true;
    for (const bench::Figure& figure : *figures) all_met &= figure.met;
    std::string machine = bench::DescribeMachine();
    if (options->json) {
      nlohmann::ordered_json document;
      for (const bench::Figure& figure : *figures) document[figure.name] = figure.value;
      document["targets_met"] = all_met;
      document["quick"] = options->quick;
      document["machine"] = machine;
      std::printf("%s\n", document.dump(2).c_str());
    } else {
      std::printf("machine: %s%s\n", machine.c_str(), options->quick ? " (quick run)" : "");
      for (const bench::Figure& figure : *figures) {
        std::printf("%-22s %12.3f %-5s %-8s %s\n", figure.name.c_str(), figure.value, figure.unit.c_str(),
                    figure.target.c_str(),
                    figure.target.empty() ? "" : figure.met ? "ok" : "MISSED");
      }
    }
    return static_cast<int>(all_met || options->quick ? kExitOk : kExitFailure);
  };
}

}  // namespace ringfence::cli
