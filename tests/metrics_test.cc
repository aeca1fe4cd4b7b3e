// Metrics: counters, histogram bucket placement and percentiles, concurrent
// recording, and the Prometheus text exposition checked line by line
// against the format's grammar.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ringfence/metrics.h"
#include "ringfence/trap.h"

namespace ringfence {
namespace {

using ::testing::HasSubstr;

TEST(CounterTest, Adds) {
  Counter counter;
  EXPECT_EQ(counter.value(), 0u);
  counter.Add();
  counter.Add(41);
  EXPECT_EQ(counter.value(), 42u);
}

TEST(HistogramTest, BoundsAreOneTwoFivePerDecadeThenInf) {
  const auto& bounds = Histogram::UpperBoundsNs();
  ASSERT_EQ(bounds.size(), Histogram::kBucketCount);
  EXPECT_EQ(bounds[0], 100u);
  EXPECT_EQ(bounds[1], 200u);
  EXPECT_EQ(bounds[2], 500u);
  EXPECT_EQ(bounds[3], 1000u);
  EXPECT_EQ(bounds[bounds.size() - 2], 10'000'000'000u);
  EXPECT_EQ(bounds.back(), UINT64_MAX);
  for (size_t i = 1; i < bounds.size(); ++i) EXPECT_LT(bounds[i - 1], bounds[i]);
}

// Which bucket (index) a single recorded value lands in.
size_t BucketOf(uint64_t ns) {
  Histogram histogram;
  histogram.Record(ns);
  Histogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.count, 1u);
  EXPECT_EQ(snapshot.sum_ns, ns);
  for (size_t i = 0; i < snapshot.counts.size(); ++i) {
    if (snapshot.counts[i] == 1) return i;
  }
  ADD_FAILURE() << ns << " landed nowhere";
  return SIZE_MAX;
}

TEST(HistogramTest, BucketPlacementAtTheBoundaries) {
  EXPECT_EQ(BucketOf(0), 0u);
  EXPECT_EQ(BucketOf(1), 0u);
  EXPECT_EQ(BucketOf(100), 0u);  // le: an upper bound belongs to its bucket
  EXPECT_EQ(BucketOf(101), 1u);
  EXPECT_EQ(BucketOf(200), 1u);
  EXPECT_EQ(BucketOf(201), 2u);
  EXPECT_EQ(BucketOf(500), 2u);
  EXPECT_EQ(BucketOf(501), 3u);
  EXPECT_EQ(BucketOf(1000), 3u);
  EXPECT_EQ(BucketOf(1'000'000), 12u);  // 1 ms
  EXPECT_EQ(BucketOf(10'000'000'000u), Histogram::kBucketCount - 2);  // 10 s
  EXPECT_EQ(BucketOf(10'000'000'001u), Histogram::kBucketCount - 1);  // +Inf
  EXPECT_EQ(BucketOf(UINT64_MAX), Histogram::kBucketCount - 1);
  // Every bound and its successor.
  const auto& bounds = Histogram::UpperBoundsNs();
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    EXPECT_EQ(BucketOf(bounds[i]), i);
    EXPECT_EQ(BucketOf(bounds[i] + 1), i + 1);
  }
}

TEST(HistogramTest, Percentiles) {
  Histogram histogram;
  EXPECT_EQ(histogram.snapshot().PercentileNs(0.5), 0);  // empty
  // 90 values at 150 ns (bucket 200), 9 at 1.5 us (2000), 1 at 20 s (+Inf).
  for (int i = 0; i < 90; ++i) histogram.Record(150);
  for (int i = 0; i < 9; ++i) histogram.Record(1500);
  histogram.Record(20'000'000'000u);
  Histogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.count, 100u);
  EXPECT_EQ(snapshot.sum_ns, 90u * 150 + 9u * 1500 + 20'000'000'000u);
  EXPECT_EQ(snapshot.PercentileNs(0), 200);
  EXPECT_EQ(snapshot.PercentileNs(0.5), 200);
  EXPECT_EQ(snapshot.PercentileNs(0.9), 200);   // the 90th value
  EXPECT_EQ(snapshot.PercentileNs(0.91), 2000); // the 91st
  EXPECT_EQ(snapshot.PercentileNs(0.99), 2000);
  EXPECT_EQ(snapshot.PercentileNs(1), std::numeric_limits<double>::infinity());
  EXPECT_EQ(snapshot.PercentileNs(2), std::numeric_limits<double>::infinity());  // clamped
  EXPECT_EQ(snapshot.PercentileNs(-1), 200);
}

TEST(HistogramTest, ConcurrentRecordsAllCount) {
  Histogram histogram;
  constexpr int kThreads = 4;
  constexpr uint64_t kPerThread = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&histogram, t] {
      for (uint64_t i = 0; i < kPerThread; ++i) histogram.Record((i % 1000) * 1000 + t);
    });
  }
  // Reads race with the records: each snapshot is self-consistent in count.
  for (int i = 0; i < 100; ++i) {
    Histogram::Snapshot partial = histogram.snapshot();
    uint64_t total = 0;
    for (uint64_t count : partial.counts) total += count;
    EXPECT_EQ(total, partial.count);
  }
  for (std::thread& thread : threads) thread.join();
  Histogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.count, kThreads * kPerThread);
  uint64_t expected_sum = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (uint64_t i = 0; i < kPerThread; ++i) expected_sum += (i % 1000) * 1000 + t;
  }
  EXPECT_EQ(snapshot.sum_ns, expected_sum);
}

TEST(CounterTest, ConcurrentAddsAllCount) {
  Counter counter;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counter] {
      for (int i = 0; i < 100'000; ++i) counter.Add();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.value(), 400'000u);
}

// ---------------------------------------------------------------------------
// Prometheus text format 0.0.4.

// One parsed sample line.
struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // unescaped values
  std::string value;
  std::string Label(const std::string& key) const {
    for (const auto& [k, v] : labels) {
      if (k == key) return v;
    }
    return "<none>";
  }
};

// The exposition grammar: a metric name, optional {label="value",...} with
// values escaped (\\, \", \n only), a space, a float value.
const std::regex& SampleGrammar() {
  static const std::regex grammar(
      R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? ([-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?|[-+]Inf|NaN)$)re");
  return grammar;
}

std::string Unescape(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      char next = value[++i];
      out += next == 'n' ? '\n' : next;
    } else {
      out += value[i];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseLabels(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> labels;
  size_t i = 0;
  while (i < text.size()) {
    size_t equals = text.find('=', i);
    std::string key(text.substr(i, equals - i));
    size_t j = equals + 2;  // past ="
    std::string raw;
    while (text[j] != '"') {
      if (text[j] == '\\') raw += text[j++];
      raw += text[j++];
    }
    labels.emplace_back(key, Unescape(raw));
    i = j + 1;
    if (i < text.size() && text[i] == ',') ++i;
  }
  return labels;
}

struct Exposition {
  std::vector<Sample> samples;
  std::map<std::string, int> help_lines;  // family -> # HELP lines
  std::map<std::string, std::string> types;
  std::map<std::string, int> type_lines;
};

// Parses `text`, failing the test on any line that is not a HELP, TYPE or
// sample line, and on a sample that comes before its family's TYPE.
Exposition Parse(const std::string& text) {
  Exposition exposition;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::istringstream lines(text);
  std::string line;
  static const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$)");
  static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  std::smatch match;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, match, help)) {
      ++exposition.help_lines[match[1].str()];
    } else if (std::regex_match(line, match, type)) {
      ++exposition.type_lines[match[1].str()];
      exposition.types[match[1].str()] = match[2].str();
    } else if (std::regex_match(line, match, SampleGrammar())) {
      Sample sample;
      sample.name = match[1].str();
      std::string labels = match[2].str();
      if (!labels.empty()) sample.labels = ParseLabels(labels.substr(1, labels.size() - 2));
      sample.value = match[7].str();  // the value group
      // The family: the name, or for a histogram's series the name without
      // _bucket/_sum/_count.
      std::string family = sample.name;
      for (std::string suffix : {"_bucket", "_sum", "_count"}) {
        if (family.ends_with(suffix) &&
            exposition.types.count(family.substr(0, family.size() - suffix.size())) > 0) {
          family = family.substr(0, family.size() - suffix.size());
        }
      }
      EXPECT_EQ(exposition.types.count(family), 1u) << "sample before its # TYPE: " << line;
      exposition.samples.push_back(sample);
    } else {
      ADD_FAILURE() << "not a valid exposition line: '" << line << "'";
    }
  }
  return exposition;
}

// The value part of a sample line, found by name and labels.
std::vector<const Sample*> Find(const Exposition& exposition, const std::string& name,
                                const std::string& module) {
  std::vector<const Sample*> found;
  for (const Sample& sample : exposition.samples) {
    if (sample.name == name && sample.Label("module") == module) found.push_back(&sample);
  }
  return found;
}

TEST(PrometheusTextTest, EveryLineFollowsTheGrammarAndFamiliesAreDeclaredOnce) {
  ModuleMetrics calc, parser;
  calc.calls.Add(12);
  calc.call_errors.Add(2);
  calc.retries.Add(1);
  calc.restarts.Add(3);
  calc.failures.Add(0);
  calc.replayed_calls.Add(7);
  calc.trap_counter(TrapKind::kOutOfBounds).Add(2);
  calc.trap_counter(TrapKind::kInjected).Add(1);
  calc.call_latency.Record(150);
  calc.call_latency.Record(150);
  calc.call_latency.Record(3'000'000);
  calc.call_latency.Record(20'000'000'000u);
  calc.restart_time.Record(4000);
  parser.calls.Add(5);
  std::vector<std::pair<std::string, const ModuleMetrics*>> modules = {{"calc", &calc},
                                                                        {"parser", &parser}};
  std::string text = PrometheusText(modules);
  Exposition exposition = Parse(text);

  const std::map<std::string, std::string> families = {
      {"ringfence_calls_total", "counter"},
      {"ringfence_call_errors_total", "counter"},
      {"ringfence_retries_total", "counter"},
      {"ringfence_restarts_total", "counter"},
      {"ringfence_failures_total", "counter"},
      {"ringfence_replayed_calls_total", "counter"},
      {"ringfence_traps_total", "counter"},
      {"ringfence_call_latency_seconds", "histogram"},
      {"ringfence_replay_seconds", "histogram"},
      {"ringfence_restart_seconds", "histogram"},
  };
  EXPECT_EQ(exposition.types, families);
  for (const auto& [family, type] : families) {
    EXPECT_EQ(exposition.help_lines[family], 1) << family;
    EXPECT_EQ(exposition.type_lines[family], 1) << family;
  }
  EXPECT_EQ(exposition.help_lines.size(), families.size());

  auto value_of = [&](const std::string& name, const std::string& module) {
    std::vector<const Sample*> found = Find(exposition, name, module);
    EXPECT_EQ(found.size(), 1u) << name << " " << module;
    return found.empty() ? std::string("<missing>") : found[0]->value;
  };
  EXPECT_EQ(value_of("ringfence_calls_total", "calc"), "12");
  EXPECT_EQ(value_of("ringfence_calls_total", "parser"), "5");
  EXPECT_EQ(value_of("ringfence_call_errors_total", "calc"), "2");
  EXPECT_EQ(value_of("ringfence_retries_total", "calc"), "1");
  EXPECT_EQ(value_of("ringfence_restarts_total", "calc"), "3");
  EXPECT_EQ(value_of("ringfence_failures_total", "calc"), "0");
  EXPECT_EQ(value_of("ringfence_replayed_calls_total", "calc"), "7");

  // Traps: one series per kind per module, named by TrapKindName.
  std::map<std::string, std::string> calc_traps;
  for (const Sample* sample : Find(exposition, "ringfence_traps_total", "calc")) {
    calc_traps[sample->Label("kind")] = sample->value;
  }
  EXPECT_EQ(calc_traps.size(), kTrapKindCount);
  EXPECT_EQ(calc_traps["out-of-bounds"], "2");
  EXPECT_EQ(calc_traps["injected"], "1");
  EXPECT_EQ(calc_traps["divide-by-zero"], "0");
  EXPECT_EQ(Find(exposition, "ringfence_traps_total", "parser").size(), kTrapKindCount);
}

TEST(PrometheusTextTest, HistogramBucketsAreCumulativeAndEndWithInfEqualToCount) {
  ModuleMetrics metrics;
  metrics.call_latency.Record(100);         // le 1e-07
  metrics.call_latency.Record(150);         // le 2e-07
  metrics.call_latency.Record(3'000'000);   // le 0.005
  metrics.call_latency.Record(20'000'000'000u);  // +Inf only
  std::vector<std::pair<std::string, const ModuleMetrics*>> modules = {{"m", &metrics}};
  Exposition exposition = Parse(PrometheusText(modules));

  for (std::string family :
       {"ringfence_call_latency_seconds", "ringfence_replay_seconds", "ringfence_restart_seconds"}) {
    std::vector<const Sample*> buckets = Find(exposition, family + "_bucket", "m");
    ASSERT_EQ(buckets.size(), Histogram::kBucketCount) << family;
    double previous_le = -1;
    double previous_count = 0;
    for (const Sample* bucket : buckets) {
      std::string le = bucket->Label("le");
      double bound = le == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(le);
      EXPECT_GT(bound, previous_le) << family << " le ascending";
      double count = std::stod(bucket->value);
      EXPECT_GE(count, previous_count) << family << " cumulative";
      previous_le = bound;
      previous_count = count;
    }
    EXPECT_EQ(buckets.back()->Label("le"), "+Inf");
    std::vector<const Sample*> count = Find(exposition, family + "_count", "m");
    std::vector<const Sample*> sum = Find(exposition, family + "_sum", "m");
    ASSERT_EQ(count.size(), 1u);
    ASSERT_EQ(sum.size(), 1u);
    EXPECT_EQ(buckets.back()->value, count[0]->value) << family;
  }

  std::map<std::string, std::string> latency;
  for (const Sample* bucket : Find(exposition, "ringfence_call_latency_seconds_bucket", "m")) {
    latency[bucket->Label("le")] = bucket->value;
  }
  EXPECT_EQ(latency["1e-07"], "1");
  EXPECT_EQ(latency["2e-07"], "2");
  EXPECT_EQ(latency["0.002"], "2");
  EXPECT_EQ(latency["0.005"], "3");
  EXPECT_EQ(latency["10"], "3");
  EXPECT_EQ(latency["+Inf"], "4");
  std::vector<const Sample*> sum = Find(exposition, "ringfence_call_latency_seconds_sum", "m");
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_DOUBLE_EQ(std::stod(sum[0]->value), (100 + 150 + 3'000'000 + 20'000'000'000.0) / 1e9);
  EXPECT_EQ(Find(exposition, "ringfence_call_latency_seconds_count", "m")[0]->value, "4");
  EXPECT_EQ(Find(exposition, "ringfence_replay_seconds_count", "m")[0]->value, "0");
}

TEST(PrometheusTextTest, LabelValuesAreEscaped) {
  ModuleMetrics metrics;
  metrics.calls.Add(1);
  const std::string nasty = "a\"b\\c\nd}e,f=g";
  std::vector<std::pair<std::string, const ModuleMetrics*>> modules = {{nasty, &metrics}};
  std::string text = PrometheusText(modules);
  EXPECT_THAT(text, HasSubstr(R"(ringfence_calls_total{module="a\"b\\c\nd}e,f=g"} 1)"));
  Exposition exposition = Parse(text);  // every line still matches the grammar
  std::vector<const Sample*> calls = Find(exposition, "ringfence_calls_total", nasty);
  ASSERT_EQ(calls.size(), 1u);  // and the value reads back unescaped
  EXPECT_EQ(calls[0]->value, "1");
}

TEST(PrometheusTextTest, NoModulesStillDeclaresFamilies) {
  Exposition exposition = Parse(PrometheusText({}));
  EXPECT_TRUE(exposition.samples.empty());
  EXPECT_EQ(exposition.types.size(), 10u);
}

}  // namespace
}  // namespace ringfence
