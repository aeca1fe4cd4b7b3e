#include "bench/process_figures.h"

#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "bench/measure.h"
#include "ringfence/worker_pool.h"

namespace ringfence::bench {
namespace {

// Natively built examples sit beside the wasm ones under this suffix.
std::string Native(const std::string& name) { return name + "_native"; }

// Round trips of one byte between this process and a child over two pipes.
StatusOr<double> PipeRoundTripNs(int repeats, int64_t trips) {
  int to_child[2], to_parent[2];
  if (pipe(to_child) != 0 || pipe(to_parent) != 0) {
    return Status(StatusCode::kUnavailable, "pipe failed");
  }
  pid_t child = fork();
  if (child < 0) return Status(StatusCode::kUnavailable, "fork failed");
  if (child == 0) {
    // Only close, read, write and _exit here: the parent may have had
    // threads. Without its copy of the write end, the child sees end of
    // file when the parent closes its own.
    close(to_child[1]);
    close(to_parent[0]);
    char byte;
    while (read(to_child[0], &byte, 1) == 1 && write(to_parent[1], &byte, 1) == 1) {
    }
    _exit(0);
  }
  close(to_child[0]);
  close(to_parent[1]);
  bool broken = false;
  double ns = BestNanosPerIteration(repeats, trips, [&](int64_t n) {
    char byte = 'x';
    for (int64_t i = 0; i < n && !broken; ++i) {
      broken = write(to_child[1], &byte, 1) != 1 || read(to_parent[0], &byte, 1) != 1;
    }
  });
  close(to_child[1]);
  close(to_parent[0]);
  waitpid(child, nullptr, 0);
  if (broken) return Status(StatusCode::kUnavailable, "the pipe ping-pong broke off");
  return ns;
}

}  // namespace

Status MeasureProcessBackend(const FigureOptions& options, double native_compute_ns,
                             std::vector<Figure>* figures) {
  const int repeats = options.quick ? 3 : 7;
  const int64_t trips = options.quick ? 2000 : 20000;
  const int samples = options.quick ? 20 : 200;
  auto progress = [&](const std::string& what) {
    if (options.progress) options.progress(what);
  };

  progress("process backend: round trips");
  StatusOr<double> pipe_ns = PipeRoundTripNs(repeats, trips);
  if (!pipe_ns.ok()) return pipe_ns.status();
  RF_ASSIGN_OR_RETURN(calc, Open(options.module_dir, Native("calc")));
  auto add = calc->GetExport<int32_t(int32_t, int32_t)>("add");
  if (!add.ok()) return add.status();
  RF_CHECK((*add)(2, 3).ok() && (*add)(2, 3).value() == 5);
  double call_ns = BestNanosPerIteration(repeats, trips, [&](int64_t n) {
    for (int64_t i = 0; i < n; ++i) Keep((*add)(static_cast<int32_t>(i), 1).ok());
  });
  double ratio = call_ns / *pipe_ns;
  figures->push_back({"pipe_rtt_ns", *pipe_ns, "ns", ""});
  figures->push_back({"process_call_ns", call_ns, "ns", ""});
  figures->push_back({"process_rtt_ratio", ratio, "ratio", "<= 0.5", ratio <= 0.5});

  progress("process backend: restarts");
  // Each sample: a crash, then Restart. Before it, whatever the sample
  // relies on is made ready, so one sample's background work (a
  // replacement worker, a new spare, reaping the crashed worker) does not
  // run inside the next one.
  enum class Start { kSpawned, kPooled, kWarmSpare };
  auto measure_restarts = [&](Compartment& compartment, std::vector<double>* out,
                              Start start) -> Status {
    auto crash = compartment.GetExport<int32_t()>("out_of_bounds_load");
    if (!crash.ok()) return crash.status();
    for (int i = 0; i < samples; ++i) {
      if (start == Start::kWarmSpare && !compartment.WaitForSpare()) {
        return Status(StatusCode::kInternal, "no pre-started worker was made");
      }
      if (!WaitForIdleWorkers()) {
        return Status(StatusCode::kInternal, "the worker pool could not start a worker");
      }
      Clock::time_point begin = Clock::now();
      Result<int32_t> trapped = (*crash)();
      RF_CHECK(trapped.trapped());
      RF_RETURN_IF_ERROR(compartment.Restart());
      out->push_back(NanosSince(begin) / 1000);
    }
    return Status::Ok();
  };
  std::vector<double> spawn_us, pooled_us, warm_us;
  {
    RF_ASSIGN_OR_RETURN(misbehave, Open(options.module_dir, Native("misbehave")));
    SetIdleWorkers(0);
    Status measured = measure_restarts(*misbehave, &spawn_us, Start::kSpawned);
    SetIdleWorkers(kDefaultIdleWorkers);
    RF_RETURN_IF_ERROR(measured);
    RF_RETURN_IF_ERROR(measure_restarts(*misbehave, &pooled_us, Start::kPooled));
  }
  {
    CompartmentOptions pre_started;
    pre_started.warm_spare = true;
    RF_ASSIGN_OR_RETURN(misbehave, Open(options.module_dir, Native("misbehave"), pre_started));
    RF_RETURN_IF_ERROR(measure_restarts(*misbehave, &warm_us, Start::kWarmSpare));
  }
  double pooled_p50 = Percentile(pooled_us, 0.5);
  double warm_p50 = Percentile(warm_us, 0.5);
  figures->push_back({"process_restart_us_p50", pooled_p50, "us", "<= 2000", pooled_p50 <= 2000});
  figures->push_back({"process_restart_us_p99", Percentile(pooled_us, 0.99), "us", ""});
  figures->push_back({"process_spawn_restart_us_p50", Percentile(spawn_us, 0.5), "us", ""});
  figures->push_back({"process_prestarted_restart_us_p50", warm_p50, "us", "<= 200", warm_p50 <= 200});
  figures->push_back({"process_prestarted_restart_us_p99", Percentile(warm_us, 0.99), "us", ""});

  progress("process backend: CPU-bound module");
  RF_ASSIGN_OR_RETURN(compute, Open(options.module_dir, Native("compute")));
  auto workload = compute->GetExport<int64_t(int32_t)>("compute_workload");
  if (!workload.ok()) return workload.status();
  const int32_t rounds = options.quick ? 2 : 10;
  double module_ns = BestNanosPerIteration(options.quick ? 2 : 5, 1, [&](int64_t) {
    Keep((*workload)(rounds).ok());
  });
  double compute_ratio = module_ns / native_compute_ns;
  figures->push_back({"process_compute_ratio", compute_ratio, "ratio", "<= 1.5", compute_ratio <= 1.5});
  return Status::Ok();
}

}  // namespace ringfence::bench
