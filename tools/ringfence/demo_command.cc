// `ringfence demo`: the fault storm on the driver stack (default), or the
// tour of trap kinds (--tour).
#include <cstdio>
#include <memory>

#include "tools/ringfence/commands.h"
#include "tools/ringfence/demo_storm.h"
#include "tools/ringfence/demo_tour.h"
#include "tools/ringfence/isolation_option.h"

namespace ringfence::cli {

CommandRunner AddDemoCommand(CLI::App& app) {
  auto storm = std::make_shared<StormOptions>();
  auto tour = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand(
      "demo",
      "Watch a supervised driver stack (a device driver module under a filesystem module, "
      "sharing a region and a lock) serve a workload through a seeded fault storm: traps, hangs, "
      "slow calls and deaths while holding the lock. Prints a status line per second and a "
      "summary of what was injected, recovered, retried, failed clearly, lost and duplicated "
      "(exit 1 if anything was lost or duplicated). --isolation process runs the same stack with "
      "each module in a sandboxed worker process. --tour shows each trap kind instead (wasm "
      "backend only).");
  command->add_option("--seed", storm->seed, "Seed of the fault storm (same seed, same faults)")
      ->capture_default_str();
  command->add_option("--duration", storm->duration_s, "Seconds to run")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  command->add_option("--clients", storm->clients, "Client threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  command->add_option("--storm", storm->storm,
                      "Fault plan, e.g. trap=0.01,hang=0.001,slow=0.01,slow-ms=2,"
                      "point=blockdev.io:0.01,at=minifs.write_file:100 (default: a mixed storm)");
  command->add_flag("--json", storm->json, "Print the summary as one JSON object on stdout");
  command->add_option("--metrics", storm->metrics_path,
                      "Write the modules' metrics here (Prometheus text format)");
  command->add_option("--report", storm->report_path,
                      "Append a crash report per trap here (JSON lines)");
  command->add_flag("--verbose", storm->verbose, "Print one line per crash on stderr");
  command->add_option("--modules", storm->module_dir, "Directory with the example modules");
  command->add_flag("--quiet-modules", storm->quiet_modules, "Hide the modules' own output");
  CLI::Option* isolation = AddIsolationOption(
      *command, &storm->isolation,
      "Where the modules run (default wasm): wasm (each in its own window in this process: "
      "blockdev.rfm, minifs.rfm) or process (each in a sandboxed worker process: "
      "blockdev_native.rfm, minifs_native.rfm; the warm spares are pre-started workers)");
  command->add_flag("--tour", *tour,
                    "Show each kind of trap being contained, one by one (wasm backend only)");
  return [storm, tour, isolation] {
    if (*tour) {
      if (isolation->count() > 0 && storm->isolation != Isolation::kWasm) {
        std::fprintf(stderr, "ringfence demo: error: --tour runs on the wasm backend only\n");
        return static_cast<int>(kExitUsage);
      }
      return RunTour({storm->module_dir, storm->quiet_modules});
    }
    return RunStorm(*storm);
  };
}

}  // namespace ringfence::cli
