#include "bench/figures.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "ringfence/compartment.h"
#include "ringfence/lock.h"
#include "bench/measure.h"
#include "bench/process_figures.h"

extern "C" int32_t add(int32_t a, int32_t b);
extern "C" int64_t compute_workload(int32_t rounds);

namespace ringfence::bench {
namespace {

// Figures of the kernel services: a nested call host -> kernel -> calc, a
// lock round trip from module code, and a restart with 64 handles open.
Status MeasureKernelServices(const FigureOptions& options, Compartment& calc,
                             std::vector<Figure>* figures) {
  const int repeats = options.quick ? 3 : 15;
  const int64_t calls = options.quick ? 20000 : 500000;
  const int samples = options.quick ? 200 : 2000;
  if (options.progress) options.progress("kernel services");
  RF_ASSIGN_OR_RETURN(kernel, Open(options.module_dir, "kernel"));
  std::shared_ptr<Lock> lock = Lock::Create("bench");
  RF_RETURN_IF_ERROR(kernel->Provide("bench", lock));
  RF_RETURN_IF_ERROR(kernel->LinkModule("target", calc));

  auto forward_add = kernel->GetExport<int32_t(int32_t, int32_t)>("forward_add");
  if (!forward_add.ok()) return forward_add.status();
  RF_CHECK((*forward_add)(2, 3).ok() && (*forward_add)(2, 3).value() == 5);
  double nested_ns = BestNanosPerIteration(repeats, calls, [&](int64_t n) {
    for (int64_t i = 0; i < n; ++i) Keep((*forward_add)(static_cast<int32_t>(i), 1).ok());
  });
  figures->push_back({"nested_call_ns", nested_ns, "ns", ""});

  auto lock_rounds = kernel->GetExport<int32_t(int32_t)>("lock_rounds");
  if (!lock_rounds.ok()) return lock_rounds.status();
  const int32_t rounds = static_cast<int32_t>(calls);
  RF_CHECK((*lock_rounds)(10).ok());
  double lock_ns = BestNanosPerIteration(repeats, 1, [&](int64_t) {
    Result<int32_t> done = (*lock_rounds)(rounds);
    RF_CHECK(done.ok() && done.value() == rounds);
  }) / rounds;
  figures->push_back({"lock_acquire_release_ns", lock_ns, "ns", "<= 20", lock_ns <= 20});

  auto open_handles = kernel->GetExport<int32_t(int32_t)>("open_handles");
  if (!open_handles.ok()) return open_handles.status();
  std::vector<double> restart_us;
  for (int i = 0; i < samples; ++i) {
    Result<int32_t> opened = (*open_handles)(64);
    RF_CHECK(opened.ok() && opened.value() == 64);
    Clock::time_point start = Clock::now();
    RF_RETURN_IF_ERROR(kernel->Restart());
    restart_us.push_back(NanosSince(start) / 1000);
  }
  figures->push_back({"restart_64_handles_us_p50", Percentile(restart_us, 0.5), "us", ""});
  figures->push_back({"restart_64_handles_us_p99", Percentile(restart_us, 0.99), "us", ""});
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<Figure>> MeasureFigures(const FigureOptions& options) {
  auto progress = [&](const std::string& what) {
    if (options.progress) options.progress(what);
  };
  const int repeats = options.quick ? 3 : 15;
  const int64_t calls = options.quick ? 200000 : 5000000;
  const int samples = options.quick ? 200 : 5000;
  std::vector<Figure> figures;

  RF_ASSIGN_OR_RETURN(calc, Open(options.module_dir, "calc"));
  RF_ASSIGN_OR_RETURN(compute, Open(options.module_dir, "compute"));
  RF_ASSIGN_OR_RETURN(misbehave, Open(options.module_dir, "misbehave"));

  progress("gate call vs direct call");
  auto gate_add = calc->GetExport<int32_t(int32_t, int32_t)>("add");
  if (!gate_add.ok()) return gate_add.status();
  int32_t (*volatile direct_add)(int32_t, int32_t) = add;
  double direct_ns = 0, gate_ns = 0;
  // Interleaved so both see the same machine state.
  for (int round = 0; round < 3; ++round) {
    // Independent calls (no result feeds the next call), the same shape in
    // both loops: this measures what a call costs, not a dependency chain.
    double d = BestNanosPerIteration(repeats, calls, [&](int64_t n) {
      int32_t (*fn)(int32_t, int32_t) = direct_add;
      for (int64_t i = 0; i < n; ++i) Keep(fn(static_cast<int32_t>(i), 1));
    });
    TypedExport<int32_t(int32_t, int32_t)> gate_fn = *gate_add;
    double g = BestNanosPerIteration(repeats, calls, [&](int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        Result<int32_t> result = gate_fn(static_cast<int32_t>(i), 1);
        Keep(result.ok() ? result.value() : 0);
      }
    });
    direct_ns = round == 0 ? d : std::min(direct_ns, d);
    gate_ns = round == 0 ? g : std::min(gate_ns, g);
  }
  figures.push_back({"direct_call_ns", direct_ns, "ns", ""});
  figures.push_back({"gate_call_ns", gate_ns, "ns", ""});
  figures.push_back({"gate_ratio", gate_ns / direct_ns, "ratio", "<= 2.0", gate_ns / direct_ns <= 2.0});

  // A loop inside the module calling a host service that returns at once;
  // the overhead is what the call costs beyond a plain call (direct_call_ns).
  progress("module -> host import call");
  auto import_calls = compute->GetExport<int32_t(int32_t)>("compute_import_calls");
  if (!import_calls.ok()) return import_calls.status();
  const int32_t loop = static_cast<int32_t>(calls / 10);
  double import_ns = BestNanosPerIteration(repeats, 10, [&](int64_t n) {
    for (int64_t i = 0; i < n; ++i) Keep((*import_calls)(loop).ok());
  }) / loop;
  figures.push_back({"import_call_ns", import_ns, "ns", ""});
  figures.push_back({"import_overhead_ns", import_ns - direct_ns, "ns", "<= 2.0",
                     import_ns - direct_ns <= 2.0});

  progress("trap and restart latency");
  auto oob = misbehave->GetExport<int32_t()>("out_of_bounds_load");
  auto dirty = misbehave->GetExport<int32_t(int32_t)>("dirty");
  if (!oob.ok()) return oob.status();
  if (!dirty.ok()) return dirty.status();
  std::vector<double> trap_us, restart_us, restart_1mib_us, instantiate_us;
  for (int i = 0; i < samples; ++i) {
    Clock::time_point start = Clock::now();
    Result<int32_t> trapped = (*oob)();
    double trapped_ns = NanosSince(start);
    RF_CHECK(trapped.trapped());
    RF_RETURN_IF_ERROR(misbehave->Restart());
    trap_us.push_back(trapped_ns / 1000);
    restart_us.push_back(NanosSince(start) / 1000);

    // Discard an instance that dirtied 1 MiB and make a fresh one.
    RF_CHECK((*dirty)(1 << 20).ok());
    start = Clock::now();
    RF_RETURN_IF_ERROR(misbehave->Restart());
    restart_1mib_us.push_back(NanosSince(start) / 1000);
  }
  // The same interval (trap call start -> ready after Restart()) with a
  // warm spare. Before each sample, outside the timed interval, the spare
  // maker is given time to finish the spare: so this is the swap path, the
  // figure for faults that come slower than spares are made. (A faster
  // storm falls back to restart_us.)
  CompartmentOptions spare_options;
  spare_options.warm_spare = true;
  RF_ASSIGN_OR_RETURN(warm, Open(options.module_dir, "misbehave", spare_options));
  auto warm_oob = warm->GetExport<int32_t()>("out_of_bounds_load");
  if (!warm_oob.ok()) return warm_oob.status();
  std::vector<double> warm_restart_us;
  for (int i = 0; i < samples; ++i) {
    if (!warm->WaitForSpare()) return Status(StatusCode::kInternal, "no warm spare was made");
    Clock::time_point start = Clock::now();
    Result<int32_t> trapped = (*warm_oob)();
    RF_CHECK(trapped.trapped());
    RF_RETURN_IF_ERROR(warm->Restart());
    warm_restart_us.push_back(NanosSince(start) / 1000);
  }
  for (int i = 0; i < samples / 10; ++i) {
    Clock::time_point start = Clock::now();
    RF_ASSIGN_OR_RETURN(fresh, Compartment::Create(calc->shared_module()));
    instantiate_us.push_back(NanosSince(start) / 1000);
    Keep(fresh.get());
  }
  figures.push_back({"trap_recover_us_p50", Percentile(trap_us, 0.5), "us", ""});
  figures.push_back({"trap_recover_us_p99", Percentile(trap_us, 0.99), "us", ""});
  double restart_p50 = Percentile(restart_us, 0.5);
  figures.push_back({"restart_us_p50", restart_p50, "us", "<= 20", restart_p50 <= 20});
  figures.push_back({"restart_us_p99", Percentile(restart_us, 0.99), "us", ""});
  double warm_p50 = Percentile(warm_restart_us, 0.5);
  figures.push_back({"warm_restart_us_p50", warm_p50, "us", "<= 5", warm_p50 <= 5});
  figures.push_back({"warm_restart_us_p99", Percentile(warm_restart_us, 0.99), "us", ""});
  figures.push_back({"restart_1mib_us_p50", Percentile(restart_1mib_us, 0.5), "us", ""});
  figures.push_back({"restart_1mib_us_p99", Percentile(restart_1mib_us, 0.99), "us", ""});
  figures.push_back({"instantiate_us_p50", Percentile(instantiate_us, 0.5), "us", ""});

  progress("CPU-bound module vs native");
  auto workload = compute->GetExport<int64_t(int32_t)>("compute_workload");
  if (!workload.ok()) return workload.status();
  const int32_t rounds = options.quick ? 2 : 10;
  int64_t (*volatile native_workload)(int32_t) = compute_workload;
  int64_t native_checksum = native_workload(rounds);
  Result<int64_t> module_checksum = (*workload)(rounds);
  if (!module_checksum.ok() || module_checksum.value() != native_checksum) {
    return Status(StatusCode::kInternal, "compute_workload: module and native results differ");
  }
  double native_ns = 0, module_ns = 0;
  for (int round = 0; round < (options.quick ? 1 : 3); ++round) {
    double n = BestNanosPerIteration(options.quick ? 2 : 5, 1, [&](int64_t) { Keep(native_workload(rounds)); });
    double m = BestNanosPerIteration(options.quick ? 2 : 5, 1, [&](int64_t) { Keep((*workload)(rounds).ok()); });
    native_ns = round == 0 ? n : std::min(native_ns, n);
    module_ns = round == 0 ? m : std::min(module_ns, m);
  }
  figures.push_back({"compute_native_ms", native_ns / 1e6, "ms", ""});
  figures.push_back({"compute_module_ms", module_ns / 1e6, "ms", ""});
  figures.push_back({"compute_ratio", module_ns / native_ns, "ratio", "<= 1.5", module_ns / native_ns <= 1.5});

  // The same workload under a (generous) call deadline: the watchdog armed
  // for each call. Interleaved with calls without one, same compartment
  // module, so both see the same machine.
  progress("watchdog overhead");
  CompartmentOptions with_deadline;
  with_deadline.call_timeout = std::chrono::seconds(60);
  RF_ASSIGN_OR_RETURN(watched, Compartment::Create(compute->shared_module(), with_deadline));
  auto watched_workload = watched->GetExport<int64_t(int32_t)>("compute_workload");
  if (!watched_workload.ok()) return watched_workload.status();
  double plain_ns = 0, watched_ns = 0;
  for (int round = 0; round < (options.quick ? 1 : 3); ++round) {
    double p = BestNanosPerIteration(options.quick ? 2 : 5, 1, [&](int64_t) { Keep((*workload)(rounds).ok()); });
    double w = BestNanosPerIteration(options.quick ? 2 : 5, 1,
                                     [&](int64_t) { Keep((*watched_workload)(rounds).ok()); });
    plain_ns = round == 0 ? p : std::min(plain_ns, p);
    watched_ns = round == 0 ? w : std::min(watched_ns, w);
  }
  double watchdog_ratio = watched_ns / plain_ns;
  figures.push_back({"watchdog_compute_ratio", watchdog_ratio, "ratio", "<= 1.02", watchdog_ratio <= 1.02});

  RF_RETURN_IF_ERROR(MeasureKernelServices(options, *calc, &figures));
  RF_RETURN_IF_ERROR(MeasureProcessBackend(options, native_ns, &figures));
  return figures;
}

std::string DescribeMachine() {
  std::string cpu = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.starts_with("model name")) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname system;
  uname(&system);
  return fmt::format("{}, {} cores, Linux {}", cpu, std::thread::hardware_concurrency(), system.release);
}

}  // namespace ringfence::bench
