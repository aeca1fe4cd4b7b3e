// Metrics: counters and latency histograms per supervised module, and their
// Prometheus text exposition.
//
//   ModuleMetrics metrics;
//   metrics.calls.Add();
//   metrics.call_latency.Record(elapsed_ns);
//   std::pair<std::string, const ModuleMetrics*> entry{"calc", &metrics};
//   std::string text = PrometheusText({&entry, 1});  // serve on /metrics
//
// Thread-safety: Counter and Histogram are updated with relaxed atomics,
// lock-free, from any number of threads; reads (value(), snapshot()) may run
// concurrently with updates and see each update entirely or not at all, but
// a snapshot taken during updates need not be one instant (its sum may lag
// or lead its count by the updates in flight).
#ifndef RINGFENCE_METRICS_H_
#define RINGFENCE_METRICS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ringfence/trap.h"

namespace ringfence {

// A monotonically increasing count.
class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A latency histogram in nanoseconds with fixed log-spaced buckets: upper
// bounds 1-2-5 per decade from 100 ns to 10 s (100, 200, 500, 1000, ...,
// 5e9, 1e10 ns), then +Inf. A value goes into the first bucket whose upper
// bound is >= it (Prometheus "le" semantics): 100 ns is in the 100 ns
// bucket, 101 ns in the 200 ns one.
class Histogram {
 public:
  // Finite upper bounds, then the +Inf bucket.
  static constexpr size_t kBucketCount = 26;

  void Record(uint64_t ns);

  struct Snapshot {
    std::vector<uint64_t> upper_bounds_ns;  // ascending; the last is UINT64_MAX (+Inf)
    std::vector<uint64_t> counts;           // per bucket, not cumulative
    uint64_t count = 0;                     // sum of `counts`
    uint64_t sum_ns = 0;                    // sum of the recorded values (wraps past 2^64)
    // The q-quantile (q in [0, 1], clamped) as the upper bound of the bucket
    // holding the ceil(q * count)th smallest value (at least the 1st):
    // an upper estimate, exact to the bucket. +infinity if that is the +Inf
    // bucket; 0 for an empty histogram.
    double PercentileNs(double q) const;
  };
  Snapshot snapshot() const;

  // The bucket upper bounds (ns), ascending, the last UINT64_MAX.
  static const std::array<uint64_t, kBucketCount>& UpperBoundsNs();

 private:
  std::array<std::atomic<uint64_t>, kBucketCount> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

// What a supervisor counts for one supervised module.
struct ModuleMetrics {
  Counter calls;           // calls made into the module
  Counter call_errors;     // calls that ended in a Trap or an error Status
  Counter retries;         // calls retried transparently after a trap
  Counter restarts;        // fresh instances made after a trap or kill
  Counter failures;        // times the module was declared failed
  Counter replayed_calls;  // journal calls replayed into fresh instances
  std::array<Counter, kTrapKindCount> traps;  // indexed by TrapKind
  Histogram call_latency;  // per call, ns
  Histogram replay_time;   // per journal replay, ns
  Histogram restart_time;  // trap to ready, ns

  Counter& trap_counter(TrapKind kind) { return traps[static_cast<size_t>(kind)]; }
};

// The Prometheus text exposition format (version 0.0.4) of `modules`, each
// a (module name, metrics) pair; names should be distinct, the metrics must
// stay valid during the call. Families, each with one # HELP and one # TYPE
// line, then a sample per module (label module="<name>", escaped):
//   ringfence_calls_total, ringfence_call_errors_total, ringfence_retries_total,
//   ringfence_restarts_total, ringfence_failures_total,
//   ringfence_replayed_calls_total                          (counters)
//   ringfence_traps_total{module, kind="<TrapKindName>"}    (counter, every kind)
//   ringfence_call_latency_seconds, ringfence_replay_seconds,
//   ringfence_restart_seconds                               (histograms: _bucket
//     {le="<seconds>"} cumulative up to le="+Inf", _sum in seconds, _count)
// Ends with a newline. Safe to call while the metrics are being updated.
std::string PrometheusText(std::span<const std::pair<std::string, const ModuleMetrics*>> modules);

}  // namespace ringfence

#endif  // RINGFENCE_METRICS_H_
