// ringfence demo: a small driver stack under a seeded fault storm.
//
// The blockdev module (a device driver) and the minifs module (a
// filesystem-like layer on top of it) share the region "disk" and the lock
// "disk_lock"; both are supervised in one rest_for_one group (a driver
// restarts the filesystem above it). Client threads write and read files
// while a fault injector makes the modules trap, hang, slow down and die
// holding the lock. Each second prints a status line; the end prints what
// was injected, recovered, retried, failed clearly, lost and duplicated,
// checked against the disk's own ledger of write requests.
//
// With --isolation process the same two modules, built natively, run in
// sandboxed worker processes; the region, the lock, the link, the journal,
// the fault points and the warm spares (pre-started workers) work the same
// way over the workers' channels.
#include "tools/ringfence/demo_storm.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "examples/blockdev/disk_layout.h"
#include "ringfence/lock.h"
#include "ringfence/log.h"
#include "ringfence/region.h"
#include "ringfence/supervisor.h"
#include "tools/ringfence/commands.h"
#include "tools/ringfence/module_dir.h"

namespace ringfence::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr uint64_t kDiskOffset = uint64_t{1} << 30;  // above the modules' 256 MiB limit
constexpr int32_t kFiles = 64;
constexpr char kDefaultStorm[] =
    "trap=0.002,hang=0.0002,slow=0.002,slow-ms=1,point=blockdev.io:0.002,point=minifs.lookup:0.001";

// What one client call ended as.
enum class Outcome : uint8_t { kNotIssued, kOk, kFailed };

// Counts shared by the client threads and the status line.
struct Tally {
  std::atomic<uint64_t> calls{0}, ok{0}, failed{0};
  std::atomic<uint64_t> next_request{0};
  std::mutex latency_mutex;
  std::vector<uint64_t> latencies_ns;  // since the last status line
};

struct Stack {
  std::shared_ptr<FaultInjector> injector;
  std::unique_ptr<Supervisor> supervisor;
  SupervisedModule* driver = nullptr;
  SupervisedModule* fs = nullptr;
  std::shared_ptr<Region> disk_region;
  volatile disk* device = nullptr;
  std::unique_ptr<CrashReportFile> report_file;
};

Status Fail(const std::string& what, const Status& status) {
  return Status(status.code(), fmt::format("{}: {}", what, status.message()));
}

// A start-up call's outcome, for the message saying why the stack is not up.
std::string Describe(const Result<int32_t>& result) {
  if (result.trapped()) return result.trap().ToString();
  if (result.failed()) return "error: " + result.status().message();
  return fmt::format("returned {}", result.value());
}

// blockdev.rfm, or blockdev_native.rfm for the process backend (the module
// inside is still named blockdev).
std::string ModuleFilePath(const std::string& dir, const std::string& name, Isolation isolation) {
  return fmt::format("{}/{}{}.rfm", dir, name, isolation == Isolation::kProcess ? "_native" : "");
}

// Loads both modules and wires the stack; the injector stays off.
Status BuildStack(const StormOptions& options, const std::string& dir, Stack* stack) {
  StatusOr<FaultPlan> plan =
      FaultPlan::Parse(options.storm.empty() ? kDefaultStorm : options.storm, options.seed);
  if (!plan.ok()) return Fail("--storm", plan.status());
  stack->injector = std::make_shared<FaultInjector>(*plan);
  stack->injector->set_enabled(false);
  if (!options.metrics_path.empty() && !std::ofstream(options.metrics_path)) {
    return Status(StatusCode::kIoError,
                  fmt::format("--metrics: cannot write {}", options.metrics_path));
  }
  if (!options.report_path.empty()) {
    StatusOr<std::unique_ptr<CrashReportFile>> file = CrashReportFile::Open(options.report_path);
    if (!file.ok()) return file.status();
    stack->report_file = std::move(file).value();
  }

  SupervisorOptions supervision;
  supervision.crash_lines_on_stderr = options.verbose;
  supervision.fault_injector = stack->injector;
  supervision.root.intensity = {1'000'000, std::chrono::seconds(1)};
  supervision.on_crash = [stack](const CrashReport& report) {
    if (stack->report_file) stack->report_file->Write(report);
  };
  StatusOr<std::unique_ptr<Supervisor>> supervisor = Supervisor::Create(supervision);
  if (!supervisor.ok()) return supervisor.status();
  stack->supervisor = std::move(supervisor).value();
  Supervisor& tree = *stack->supervisor;
  RF_RETURN_IF_ERROR(tree.AddGroup("storage", {Strategy::kRestForOne, {100'000, std::chrono::seconds(1)}}));

  StatusOr<std::shared_ptr<Region>> region =
      Region::Create((sizeof(disk) + Region::kGranuleBytes - 1) / Region::kGranuleBytes *
                     Region::kGranuleBytes);
  if (!region.ok()) return region.status();
  stack->disk_region = *region;
  stack->device = reinterpret_cast<volatile disk*>(stack->disk_region->bytes().data());
  std::shared_ptr<Lock> lock = Lock::Create("disk_lock");

  ModuleOptions module_options;
  module_options.compartment.call_timeout = std::chrono::milliseconds(20);
  module_options.compartment.warm_spare = true;
  module_options.compartment.isolation = options.isolation;
  module_options.intensity = {100'000, std::chrono::seconds(1)};
  module_options.backoff = {std::chrono::microseconds(50), 2.0, std::chrono::milliseconds(1)};
  SupervisedModule* added[2];
  const char* names[2] = {"blockdev", "minifs"};
  for (int i = 0; i < 2; ++i) {
    std::string path = ModuleFilePath(dir, names[i], options.isolation);
    StatusOr<std::shared_ptr<const Module>> module = Module::Load(path);
    if (!module.ok()) {
      if (options.isolation == Isolation::kProcess &&
          module.status().code() == StatusCode::kIoError) {
        return Fail("--isolation process needs the examples' native builds (built with the "
                    "project, or `ringfence build --native`)",
                    module.status());
      }
      return module.status();
    }
    StatusOr<SupervisedModule*> supervised = tree.AddModule(names[i], *module, module_options, "storage");
    if (!supervised.ok()) return supervised.status();
    added[i] = *supervised;
    RF_RETURN_IF_ERROR(added[i]->compartment().Provide("disk_lock", lock));
    RF_RETURN_IF_ERROR(added[i]->compartment().MapRegion("disk", stack->disk_region, kDiskOffset));
  }
  stack->driver = added[0];
  stack->fs = added[1];
  RF_RETURN_IF_ERROR(tree.Link(*stack->fs, "blockdev", *stack->driver));
  // State-setting calls: journaled, so every fresh instance gets them again.
  Result<int32_t> attached = stack->driver->Call<int32_t(int32_t)>("attach", DISK_BLOCKS);
  Result<int32_t> mounted = stack->fs->Call<int32_t(int32_t)>("mount", kFiles);
  if (!attached.ok() || attached.value() != 0 || !mounted.ok() || mounted.value() != 0) {
    return Status(StatusCode::kInternal,
                  fmt::format("the driver stack did not come up (blockdev.attach: {}; minifs.mount: {})",
                              Describe(attached), Describe(mounted)));
  }
  return Status::Ok();
}

// One client: writes (each with a fresh request id) and reads files until
// `until`, recording every call's outcome.
void RunClient(Stack& stack, Tally& tally, std::vector<Outcome>& writes, uint64_t seed,
               SteadyClock::time_point until) {
  std::mt19937_64 random(seed);
  std::vector<uint64_t> latencies;
  while (SteadyClock::now() < until) {
    int32_t file = static_cast<int32_t>(random() % kFiles);
    bool write = random() % 10 < 7;
    uint64_t request = write ? tally.next_request.fetch_add(1) : 0;
    if (write && request >= writes.size()) write = false;  // ledger full: read only
    SteadyClock::time_point start = SteadyClock::now();
    tally.calls.fetch_add(1, std::memory_order_relaxed);
    bool ok;
    if (write) {
      Result<int32_t> result = stack.fs->Call<int32_t(int32_t, int32_t, int32_t)>(
          "write_file", file, static_cast<int32_t>(request * 7), static_cast<int32_t>(request));
      ok = result.ok() && result.value() == 0;
      writes[request] = ok ? Outcome::kOk : Outcome::kFailed;
    } else {
      Result<int32_t> result = stack.fs->Call<int32_t(int32_t)>("read_file", file);
      ok = result.ok() && result.value() >= 0;
    }
    (ok ? tally.ok : tally.failed).fetch_add(1, std::memory_order_relaxed);
    latencies.push_back(static_cast<uint64_t>((SteadyClock::now() - start).count()));
    if (latencies.size() >= 256) {
      std::lock_guard lock(tally.latency_mutex);
      tally.latencies_ns.insert(tally.latencies_ns.end(), latencies.begin(), latencies.end());
      latencies.clear();
    }
  }
  std::lock_guard lock(tally.latency_mutex);
  tally.latencies_ns.insert(tally.latencies_ns.end(), latencies.begin(), latencies.end());
}

double PercentileMs(std::vector<uint64_t>& values, double q) {
  if (values.empty()) return 0;
  size_t index = std::min(values.size() - 1, static_cast<size_t>(q * static_cast<double>(values.size())));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(index), values.end());
  return static_cast<double>(values[index]) / 1e6;
}

struct Summary {
  uint64_t calls = 0, ok = 0, failed = 0, lost = 0, duplicated = 0;
  uint64_t failed_after_disk = 0;  // failed clearly, yet reached the disk once: allowed
  InjectionCounts injected;
  Supervisor::Totals totals;
  double restart_us_p50 = 0, restart_us_p99 = 0;
  uint32_t lock_repairs = 0;
  bool checksum_ok = false;
};

// Restart latency over both modules, from their histograms (an upper
// estimate: the bound of the bucket holding the percentile).
void RestartPercentiles(const Stack& stack, Summary* summary) {
  Histogram::Snapshot merged = stack.driver->metrics().restart_time.snapshot();
  Histogram::Snapshot fs = stack.fs->metrics().restart_time.snapshot();
  for (size_t i = 0; i < merged.counts.size(); ++i) merged.counts[i] += fs.counts[i];
  merged.count += fs.count;
  summary->restart_us_p50 = merged.PercentileNs(0.5) / 1000;
  summary->restart_us_p99 = merged.PercentileNs(0.99) / 1000;
}

void PrintSummary(const StormOptions& options, const Summary& summary, FILE* out) {
  const InjectionCounts& injected = summary.injected;
  std::fprintf(out, "\nsummary (seed %llu, %.1f s, %s backend)\n",
               static_cast<unsigned long long>(options.seed), options.duration_s,
               std::string(IsolationName(options.isolation)).c_str());
  auto row = [out](const char* name, uint64_t value, const std::string& note) {
    std::fprintf(out, "  %-18s %10llu  %s\n", name, static_cast<unsigned long long>(value), note.c_str());
  };
  row("calls", summary.calls, fmt::format("{} ok", summary.ok));
  row("injected", injected.total(),
      fmt::format("{} traps, {} hangs, {} slow-downs", injected.traps, injected.hangs, injected.slows));
  row("traps", summary.totals.traps, "crash reports, all kinds");
  row("recovered", summary.totals.restarts, "restarts that served again (journal replayed)");
  row("retried", summary.totals.retried, "idempotent calls retried transparently");
  row("failed clearly", summary.failed,
      fmt::format("calls that returned an error saying why ({} writes of them reached the disk "
                  "once before the module died)",
                  summary.failed_after_disk));
  row("lost", summary.lost, "must be 0: acknowledged writes missing from the disk");
  row("duplicated", summary.duplicated, "must be 0: writes that reached the disk twice");
  row("lock repairs", summary.lock_repairs, "owner-died hand-offs repaired");
  std::fprintf(out, "  %-18s p50 %.1f us, p99 %.1f us (histogram bucket bounds)\n", "restart latency",
               summary.restart_us_p50, summary.restart_us_p99);
  std::fprintf(out, "  %-18s %s\n", "disk checksum", summary.checksum_ok ? "consistent" : "BROKEN");
}

std::string SummaryJson(const StormOptions& options, const Summary& summary) {
  nlohmann::json json = {
      {"seed", options.seed},
      {"isolation", std::string(IsolationName(options.isolation))},
      {"duration_s", options.duration_s},
      {"calls", summary.calls},
      {"ok", summary.ok},
      {"injected", summary.injected.total()},
      {"injected_traps", summary.injected.traps},
      {"injected_hangs", summary.injected.hangs},
      {"injected_slow", summary.injected.slows},
      {"traps", summary.totals.traps},
      {"recovered", summary.totals.restarts},
      {"retried", summary.totals.retried},
      {"failed", summary.failed},
      {"failed_after_disk", summary.failed_after_disk},
      {"lost", summary.lost},
      {"duplicated", summary.duplicated},
      {"restart_us_p50", summary.restart_us_p50},
      {"restart_us_p99", summary.restart_us_p99},
      {"lock_repairs", summary.lock_repairs},
      {"checksum_ok", summary.checksum_ok},
  };
  return json.dump();
}

}  // namespace

int RunStorm(const StormOptions& options) {
  StatusOr<std::string> dir = FindModuleDir(options.module_dir);
  if (!dir.ok()) {
    std::fprintf(stderr, "ringfence demo: error: %s\n", dir.status().message().c_str());
    return kExitUsage;
  }
  if (options.quiet_modules) SetLogSink([](const LogRecord&) {});
  Stack stack;
  Status built = BuildStack(options, *dir, &stack);
  if (!built.ok()) {
    std::fprintf(stderr, "ringfence demo: error: %s\n", built.message().c_str());
    return kExitUsage;
  }
  // Status lines go to stderr when stdout carries the JSON summary.
  FILE* out = options.json ? stderr : stdout;
  std::fprintf(out,
               "ringfence demo: a driver stack under a fault storm (seed %llu, %.1f s, %d clients)\n"
               "  blockdev  device driver: writes blocks to the shared region \"disk\" under the "
               "lock \"disk_lock\"\n"
               "  minifs    filesystem on top: writes through blockdev, reads the disk directly\n"
               "  backend   %s\n"
               "  storm     %s\n\n",
               static_cast<unsigned long long>(options.seed), options.duration_s, options.clients,
               options.isolation == Isolation::kProcess
                   ? "process: each module in its own sandboxed worker process"
                   : "wasm: each module in its own window in this process",
               options.storm.empty() ? kDefaultStorm : options.storm.c_str());

  Tally tally;
  std::vector<Outcome> writes(DISK_LEDGER_ENTRIES, Outcome::kNotIssued);
  stack.injector->set_enabled(true);
  SteadyClock::time_point start = SteadyClock::now();
  SteadyClock::time_point until =
      start + std::chrono::duration_cast<SteadyClock::duration>(
                  std::chrono::duration<double>(options.duration_s));
  std::vector<std::thread> clients;
  for (int i = 0; i < options.clients; ++i) {
    clients.emplace_back(RunClient, std::ref(stack), std::ref(tally), std::ref(writes),
                         options.seed * 1000 + static_cast<uint64_t>(i), until);
  }
  uint64_t last_calls = 0;
  for (int second = 1; SteadyClock::now() < until; ++second) {
    std::this_thread::sleep_until(std::min(until, start + std::chrono::seconds(second)));
    std::vector<uint64_t> latencies;
    {
      std::lock_guard lock(tally.latency_mutex);
      latencies.swap(tally.latencies_ns);
    }
    uint64_t calls = tally.calls.load();
    Supervisor::Totals totals = stack.supervisor->totals();
    double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
    std::fprintf(out, "  %5.1f s  %8llu calls/s  traps %6llu  restarts %6llu  failed %6llu  "
                      "p99 %.2f ms\n",
                 elapsed, static_cast<unsigned long long>(calls - last_calls),
                 static_cast<unsigned long long>(totals.traps),
                 static_cast<unsigned long long>(totals.restarts),
                 static_cast<unsigned long long>(tally.failed.load()),
                 PercentileMs(latencies, 0.99));
    std::fflush(out);
    last_calls = calls;
  }
  for (std::thread& client : clients) client.join();
  stack.injector->set_enabled(false);

  Summary summary;
  summary.calls = tally.calls.load();
  summary.ok = tally.ok.load();
  summary.failed = tally.failed.load();
  uint64_t issued = std::min<uint64_t>(tally.next_request.load(), writes.size());
  for (uint64_t id = 0; id < issued; ++id) {
    uint8_t reached = stack.device->ledger[id];
    if (reached > 1) ++summary.duplicated;
    if (writes[id] == Outcome::kOk && reached == 0) ++summary.lost;  // acknowledged, not on disk
    if (writes[id] == Outcome::kFailed && reached == 1) ++summary.failed_after_disk;
  }
  // A last read through the stack repairs the disk if its lock's owner died.
  (void)stack.fs->Call<int32_t(int32_t)>("read_file", 0);
  uint32_t sum = 0;
  for (uint32_t i = 0; i < DISK_BLOCKS; ++i) sum ^= stack.device->block[i];
  summary.checksum_ok = sum == stack.device->checksum;
  summary.lock_repairs = stack.device->repairs;
  summary.injected = stack.injector->counts();
  summary.totals = stack.supervisor->totals();
  RestartPercentiles(stack, &summary);

  PrintSummary(options, summary, out);
  if (options.json) std::printf("%s\n", SummaryJson(options, summary).c_str());
  if (!options.metrics_path.empty()) {
    std::ofstream metrics(options.metrics_path);
    metrics << stack.supervisor->PrometheusText();
    if (!metrics) {
      std::fprintf(stderr, "ringfence demo: error: cannot write %s\n", options.metrics_path.c_str());
      return kExitUsage;
    }
  }
  bool sound = summary.lost == 0 && summary.duplicated == 0 && summary.checksum_ok;
  return sound ? kExitOk : kExitFailure;
}

}  // namespace ringfence::cli
