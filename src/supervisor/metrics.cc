#include "ringfence/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>

#include <fmt/format.h>

namespace ringfence {
namespace {

constexpr std::array<uint64_t, Histogram::kBucketCount> MakeUpperBounds() {
  std::array<uint64_t, Histogram::kBucketCount> bounds{};
  size_t next = 0;
  for (uint64_t decade = 100; decade < 10'000'000'000u; decade *= 10) {
    bounds[next++] = decade;
    bounds[next++] = decade * 2;
    bounds[next++] = decade * 5;
  }
  bounds[next++] = 10'000'000'000u;  // 10 s
  bounds[next++] = UINT64_MAX;       // +Inf
  return bounds;
}

constexpr std::array<uint64_t, Histogram::kBucketCount> kUpperBounds = MakeUpperBounds();
static_assert(kUpperBounds[0] == 100 && kUpperBounds[Histogram::kBucketCount - 2] == 10'000'000'000u,
              "bucket bounds run 100 ns .. 10 s, then +Inf");

// Shortest text that reads back as the same double ("1e-07", "0.25").
std::string FloatText(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return error == std::errc() ? std::string(buffer, end) : fmt::format("{}", value);
}

std::string SecondsText(uint64_t ns) { return FloatText(static_cast<double>(ns) / 1e9); }

// A label value in the exposition format: backslash, double quote and
// newline escaped.
std::string EscapeLabel(std::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': escaped += "\\\\"; break;
      case '"': escaped += "\\\""; break;
      case '\n': escaped += "\\n"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

void Family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

using Modules = std::span<const std::pair<std::string, const ModuleMetrics*>>;

void CounterFamily(std::string& out, Modules modules, std::string_view name, std::string_view help,
                   const Counter ModuleMetrics::*counter) {
  Family(out, name, "counter", help);
  for (const auto& [module, metrics] : modules) {
    out += fmt::format("{}{{module=\"{}\"}} {}\n", name, EscapeLabel(module),
                       (metrics->*counter).value());
  }
}

void HistogramFamily(std::string& out, Modules modules, std::string_view name,
                     std::string_view help, const Histogram ModuleMetrics::*histogram) {
  Family(out, name, "histogram", help);
  for (const auto& [module, metrics] : modules) {
    Histogram::Snapshot snapshot = (metrics->*histogram).snapshot();
    std::string label = EscapeLabel(module);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < snapshot.counts.size(); ++i) {
      cumulative += snapshot.counts[i];
      std::string le = snapshot.upper_bounds_ns[i] == UINT64_MAX
                           ? "+Inf"
                           : SecondsText(snapshot.upper_bounds_ns[i]);
      out += fmt::format("{}_bucket{{module=\"{}\",le=\"{}\"}} {}\n", name, label, le, cumulative);
    }
    out += fmt::format("{}_sum{{module=\"{}\"}} {}\n", name, label, SecondsText(snapshot.sum_ns));
    out += fmt::format("{}_count{{module=\"{}\"}} {}\n", name, label, snapshot.count);
  }
}

}  // namespace

const std::array<uint64_t, Histogram::kBucketCount>& Histogram::UpperBoundsNs() {
  return kUpperBounds;
}

void Histogram::Record(uint64_t ns) {
  size_t bucket = static_cast<size_t>(
      std::lower_bound(kUpperBounds.begin(), kUpperBounds.end(), ns) - kUpperBounds.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(ns, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot;
  snapshot.upper_bounds_ns.assign(kUpperBounds.begin(), kUpperBounds.end());
  snapshot.counts.reserve(kBucketCount);
  for (const std::atomic<uint64_t>& count : counts_) {
    snapshot.counts.push_back(count.load(std::memory_order_relaxed));
    snapshot.count += snapshot.counts.back();
  }
  snapshot.sum_ns = sum_ns_.load(std::memory_order_relaxed);
  return snapshot;
}

double Histogram::Snapshot::PercentileNs(double q) const {
  if (count == 0) return 0;
  q = std::isnan(q) ? 0 : std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count)));
  rank = std::clamp<uint64_t>(rank, 1, count);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    if (cumulative >= rank) {
      return upper_bounds_ns[i] == UINT64_MAX ? std::numeric_limits<double>::infinity()
                                              : static_cast<double>(upper_bounds_ns[i]);
    }
  }
  return std::numeric_limits<double>::infinity();  // unreachable while count == sum(counts)
}

std::string PrometheusText(Modules modules) {
  std::string out;
  CounterFamily(out, modules, "ringfence_calls_total", "Calls made into the module.",
                &ModuleMetrics::calls);
  CounterFamily(out, modules, "ringfence_call_errors_total",
                "Calls into the module that ended in a trap or an error.",
                &ModuleMetrics::call_errors);
  CounterFamily(out, modules, "ringfence_retries_total",
                "Calls retried transparently after the module trapped.", &ModuleMetrics::retries);
  CounterFamily(out, modules, "ringfence_restarts_total",
                "Fresh instances of the module made after a trap or kill.",
                &ModuleMetrics::restarts);
  CounterFamily(out, modules, "ringfence_failures_total",
                "Times the module was declared failed (restart intensity exceeded).",
                &ModuleMetrics::failures);
  CounterFamily(out, modules, "ringfence_replayed_calls_total",
                "Journal calls replayed into fresh instances of the module.",
                &ModuleMetrics::replayed_calls);

  Family(out, "ringfence_traps_total", "counter", "Traps of the module, by trap kind.");
  for (const auto& [module, metrics] : modules) {
    std::string label = EscapeLabel(module);
    for (size_t kind = 0; kind < kTrapKindCount; ++kind) {
      out += fmt::format("ringfence_traps_total{{module=\"{}\",kind=\"{}\"}} {}\n", label,
                         TrapKindName(static_cast<TrapKind>(kind)), metrics->traps[kind].value());
    }
  }

  HistogramFamily(out, modules, "ringfence_call_latency_seconds",
                  "Latency of calls into the module, in seconds.", &ModuleMetrics::call_latency);
  HistogramFamily(out, modules, "ringfence_replay_seconds",
                  "Time to replay the journal into a fresh instance, in seconds.",
                  &ModuleMetrics::replay_time);
  HistogramFamily(out, modules, "ringfence_restart_seconds",
                  "Time from a trap to a fresh instance ready to serve, in seconds.",
                  &ModuleMetrics::restart_time);
  return out;
}

}  // namespace ringfence
