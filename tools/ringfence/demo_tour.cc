// ringfence demo --tour: the built-in modules crash, one kind of fault after
// another, and come back; the host and a neighbouring module keep running
// throughout.
#include "tools/ringfence/demo_tour.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ringfence/compartment.h"
#include "ringfence/log.h"
#include "tools/ringfence/commands.h"
#include "tools/ringfence/module_dir.h"

namespace ringfence::cli {
namespace {

using Clock = std::chrono::steady_clock;

// One misbehaviour to show, with the trap it must produce.
struct Fault {
  const char* export_name;
  const char* what;
  TrapKind expected;
};

constexpr Fault kFaults[] = {
    {"out_of_bounds_load", "reads far past the end of its memory", TrapKind::kOutOfBounds},
    {"unreachable", "executes __builtin_trap()", TrapKind::kUnreachable},
    {"abort_now", "calls abort()", TrapKind::kUnreachable},
    {"divide_by_zero", "divides by zero", TrapKind::kDivideByZero},
    {"integer_overflow", "computes INT_MIN / -1", TrapKind::kIntegerOverflow},
    {"invalid_conversion", "converts NaN to an integer", TrapKind::kInvalidConversion},
    {"indirect_call_mismatch", "calls a function through the wrong pointer type",
     TrapKind::kIndirectCallMismatch},
    {"null_call", "calls through a null function pointer", TrapKind::kIndirectCallMismatch},
    {"stack_overflow", "recurses without end", TrapKind::kStackExhausted},
};

StatusOr<std::unique_ptr<Compartment>> Open(const std::string& dir, const std::string& name) {
  StatusOr<std::shared_ptr<const Module>> module = Module::Load(dir + "/" + name + ".rfm");
  if (!module.ok()) return module.status();
  return Compartment::Create(*module);
}

}  // namespace

int RunTour(const TourOptions& options) {
  StatusOr<std::string> dir = FindModuleDir(options.module_dir);
  if (!dir.ok()) {
    std::fprintf(stderr, "ringfence demo: error: %s\n", dir.status().message().c_str());
    return kExitUsage;
  }
  if (options.quiet_modules) SetLogSink([](const LogRecord&) {});
  auto calc = Open(*dir, "calc");
  auto misbehave = Open(*dir, "misbehave");
  for (auto* opened : {&calc, &misbehave}) {
    if (!opened->ok()) {
      std::fprintf(stderr, "ringfence demo: error: %s\n", opened->status().message().c_str());
      return kExitUsage;
    }
  }
  Compartment& neighbour = **calc;
  Compartment& faulty = **misbehave;
  auto count = neighbour.GetExport<int32_t()>("count");
  auto add = neighbour.GetExport<int32_t(int32_t, int32_t)>("add");
  auto calls = faulty.GetExport<int32_t()>("calls");
  if (!count.ok() || !add.ok() || !calls.ok()) {
    std::fprintf(stderr, "ringfence demo: error: the example modules lack the demo's exports\n");
    return kExitUsage;
  }

  std::printf("ringfence demo: two modules in their own 4 GiB windows, in this one process.\n");
  std::printf("  calc      keeps a call counter; it must never notice its neighbour's crashes\n");
  std::printf("  misbehave goes wrong on purpose, one kind of fault at a time\n\n");

  int contained = 0, unexpected = 0;
  int32_t neighbour_last = 0;
  std::vector<double> recover_us;
  for (const Fault& fault : kFaults) {
    // The faulty module has state worth losing: a few calls' worth.
    for (int i = 0; i < 3; ++i) (void)(*calls)();
    Clock::time_point start = Clock::now();
    Result<std::optional<Value>> result = faulty.CallDynamic(fault.export_name, {});
    double trap_us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    Result<int32_t> fresh = (*calls)();  // restarted on demand: a fresh instance counts from 1
    double back_us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    Result<int32_t> neighbour_count = (*count)();
    bool as_expected = result.trapped() && result.trap().kind == fault.expected && fresh.ok() &&
                       fresh.value() == 1 && neighbour_count.ok() &&
                       neighbour_count.value() == neighbour_last + 1;
    if (neighbour_count.ok()) neighbour_last = neighbour_count.value();
    contained += as_expected;
    unexpected += !as_expected;
    recover_us.push_back(back_us);
    std::printf("misbehave %s\n", fault.what);
    std::printf("  %s\n", result.trapped() ? result.trap().ToString().c_str() : "(no trap!)");
    std::printf("  contained in %.1f us, serving again after %.1f us (fresh state: calls=%d); "
                "calc still counting: %d\n\n",
                trap_us, back_us, fresh.ok() ? fresh.value() : -1,
                neighbour_count.ok() ? neighbour_count.value() : -1);
  }

  // exit() from module code is a trap too, with its code.
  Result<std::optional<Value>> exited = faulty.CallDynamic("exit_with", std::vector<Value>{Value::I32(7)});
  std::printf("misbehave calls exit(7)\n  %s\n\n",
              exited.trapped() ? exited.trap().ToString().c_str() : "(no trap!)");
  bool exit_ok = exited.trapped() && exited.trap().kind == TrapKind::kExit && exited.trap().exit_code == 7;
  contained += exit_ok;
  unexpected += !exit_ok;

  Result<int32_t> sum = (*add)(2, 3);
  std::sort(recover_us.begin(), recover_us.end());
  std::printf("summary\n");
  std::printf("  faults injected        %d\n", contained + unexpected);
  std::printf("  contained as expected  %d\n", contained);
  std::printf("  misbehave restarts     %llu\n", static_cast<unsigned long long>(faulty.restart_count()));
  std::printf("  calc restarts          %llu (its counter reached %d without a gap)\n",
              static_cast<unsigned long long>(neighbour.restart_count()), neighbour_last);
  std::printf("  fault -> serving again p50 %.1f us, max %.1f us\n",
              recover_us[recover_us.size() / 2], recover_us.back());
  std::printf("  host alive: calc add 2 3 = %d\n", sum.ok() ? sum.value() : -1);
  return unexpected == 0 ? kExitOk : kExitFailure;
}

}  // namespace ringfence::cli
