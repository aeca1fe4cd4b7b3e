// Google Benchmark suites for the figures `ringfence bench` reports: a plain
// call against a gate call, a module -> host import, a trap, a restart, and
// CPU-bound work in a module against the same C built natively.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "ringfence/compartment.h"

extern "C" int32_t add(int32_t a, int32_t b);
extern "C" int64_t compute_workload(int32_t rounds);

namespace ringfence {
namespace {

std::unique_ptr<Compartment> Open(const std::string& name) {
  auto module = Module::Load(std::string(RF_MODULE_DIR) + "/" + name + ".rfm");
  RF_CHECK(module.ok());
  auto compartment = Compartment::Create(*module);
  RF_CHECK(compartment.ok());
  return std::move(compartment).value();
}

void BM_DirectCall(benchmark::State& state) {
  int32_t (*volatile function)(int32_t, int32_t) = add;
  int32_t (*call)(int32_t, int32_t) = function;
  int32_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(call(++i, 1));
}
BENCHMARK(BM_DirectCall);

void BM_GateCall(benchmark::State& state) {
  auto calc = Open("calc");
  auto add_export = calc->GetExport<int32_t(int32_t, int32_t)>("add").value();
  int32_t i = 0;
  for (auto _ : state) {
    Result<int32_t> result = add_export(++i, 1);
    benchmark::DoNotOptimize(result.ok() ? result.value() : 0);
  }
}
BENCHMARK(BM_GateCall);

// Per call of a host service from inside the module (range = calls per gate).
void BM_ImportCall(benchmark::State& state) {
  auto compute = Open("compute");
  auto loop = compute->GetExport<int32_t(int32_t)>("compute_import_calls").value();
  const int32_t calls = static_cast<int32_t>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(loop(calls).ok());
  state.SetItemsProcessed(state.iterations() * calls);
}
BENCHMARK(BM_ImportCall)->Arg(1000);

// A fault in module code until the caller holds its Trap (instance discarded).
void BM_TrapRecover(benchmark::State& state) {
  auto misbehave = Open("misbehave");
  auto oob = misbehave->GetExport<int32_t()>("out_of_bounds_load").value();
  for (auto _ : state) {
    RF_CHECK(oob().trapped());
    state.PauseTiming();
    RF_CHECK(misbehave->Restart().ok());
    state.ResumeTiming();
  }
}
BENCHMARK(BM_TrapRecover)->Unit(benchmark::kMicrosecond);

// Trap, then a fresh instance ready to serve.
void BM_TrapAndRestart(benchmark::State& state) {
  auto misbehave = Open("misbehave");
  auto oob = misbehave->GetExport<int32_t()>("out_of_bounds_load").value();
  for (auto _ : state) {
    RF_CHECK(oob().trapped());
    RF_CHECK(misbehave->Restart().ok());
  }
}
BENCHMARK(BM_TrapAndRestart)->Unit(benchmark::kMicrosecond);

// Restart of an instance that dirtied range(0) bytes of memory.
void BM_RestartDirty(benchmark::State& state) {
  auto misbehave = Open("misbehave");
  auto dirty = misbehave->GetExport<int32_t(int32_t)>("dirty").value();
  for (auto _ : state) {
    state.PauseTiming();
    RF_CHECK(dirty(static_cast<int32_t>(state.range(0))).ok());
    state.ResumeTiming();
    RF_CHECK(misbehave->Restart().ok());
  }
}
BENCHMARK(BM_RestartDirty)->Arg(64 << 10)->Arg(1 << 20)->Unit(benchmark::kMicrosecond);

void BM_ComputeNative(benchmark::State& state) {
  int64_t (*volatile workload)(int32_t) = compute_workload;
  for (auto _ : state) benchmark::DoNotOptimize(workload(2));
}
BENCHMARK(BM_ComputeNative)->Unit(benchmark::kMillisecond);

void BM_ComputeModule(benchmark::State& state) {
  auto compute = Open("compute");
  auto workload = compute->GetExport<int64_t(int32_t)>("compute_workload").value();
  for (auto _ : state) benchmark::DoNotOptimize(workload(2).ok());
}
BENCHMARK(BM_ComputeModule)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ringfence

BENCHMARK_MAIN();
