#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ringfence/fault_injection.h"

namespace ringfence {
namespace {

constexpr size_t kMaxNameBytes = 256;
constexpr double kMaxSlowMs = 3'600'000;  // an hour: anything longer is a hang

// splitmix64's finaliser: a bijective mix with good avalanche.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15u;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

// FNV-1a, then mixed: a stable hash of a site's name (std::hash is not
// guaranteed stable across builds, and seeds must reproduce across them).
uint64_t HashSite(std::string_view domain, std::string_view first, std::string_view second = {}) {
  uint64_t hash = 0xcbf29ce484222325u;
  auto feed = [&hash](std::string_view text) {
    for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3u;
    hash = (hash ^ 0xff) * 0x100000001b3u;  // separator: ("ab","c") != ("a","bc")
  };
  feed(domain);
  feed(first);
  feed(second);
  return Mix(hash);
}

// A uniform draw in [0, 1): a pure function of (seed, site, hit).
double Draw(uint64_t seed, uint64_t site_hash, uint64_t hit) {
  uint64_t bits = Mix(Mix(seed ^ site_hash) + hit);
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

std::optional<FaultAction> ActionNamed(std::string_view name) {
  if (name == "trap") return FaultAction::kTrap;
  if (name == "hang") return FaultAction::kHang;
  if (name == "slow") return FaultAction::kSlow;
  return std::nullopt;
}

std::optional<double> ParseNumber(std::string_view text) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> ParseRate(std::string_view text) {
  std::optional<double> value = ParseNumber(text);
  if (!value || *value < 0 || *value > 1) return std::nullopt;
  return value;
}

std::optional<uint64_t> ParseHit(std::string_view text) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value == 0) {
    return std::nullopt;
  }
  return value;
}

// Checks a point name or site from a spec.
std::optional<std::string> BadName(std::string_view name, std::string_view what) {
  if (name.empty()) return fmt::format("the {} is empty", what);
  if (name.size() > kMaxNameBytes) {
    return fmt::format("the {} is {} bytes long; at most {}", what, name.size(), kMaxNameBytes);
  }
  return std::nullopt;
}

// Shortest text that parses back to the same double.
std::string RateText(double rate) {
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), rate);
  return error == std::errc() ? std::string(buffer, end) : fmt::format("{}", rate);
}

}  // namespace

std::string_view FaultActionName(FaultAction action) {
  switch (action) {
    case FaultAction::kNone: return "none";
    case FaultAction::kTrap: return "trap";
    case FaultAction::kHang: return "hang";
    case FaultAction::kSlow: return "slow";
  }
  return "unknown";
}

StatusOr<FaultPlan> FaultPlan::Parse(std::string_view spec, uint64_t seed) {
  FaultPlan plan;
  plan.seed = seed;
  if (spec.empty()) return plan;
  std::set<std::string, std::less<>> seen_keys;
  std::set<std::pair<std::string, uint64_t>> seen_triggers;
  size_t number = 0;
  while (true) {
    ++number;
    size_t comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    auto fail = [&](std::string_view why) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("fault spec item {} '{}': {}", number, item, why));
    };
    size_t equals = item.find('=');
    if (item.empty()) return fail("empty item (two commas in a row, or a comma at an end)");
    if (equals == std::string_view::npos) {
      return fail("expected key=value with key trap, hang, slow, slow-ms, point or at");
    }
    std::string_view key = item.substr(0, equals);
    std::string_view value = item.substr(equals + 1);
    if (key == "trap" || key == "hang" || key == "slow" || key == "slow-ms") {
      if (!seen_keys.emplace(key).second) return fail(fmt::format("{} is given twice", key));
      if (key == "slow-ms") {
        std::optional<double> ms = ParseNumber(value);
        if (!ms || *ms < 0 || *ms > kMaxSlowMs) {
          return fail(fmt::format("'{}' is not a number of milliseconds in [0, {}]", value,
                                  kMaxSlowMs));
        }
        plan.slow_delay = std::chrono::nanoseconds(std::llround(*ms * 1e6));
      } else {
        std::optional<double> rate = ParseRate(value);
        if (!rate) return fail(fmt::format("rate '{}' is not a number in [0, 1]", value));
        (key == "trap" ? plan.trap_rate : key == "hang" ? plan.hang_rate : plan.slow_rate) = *rate;
      }
    } else if (key == "point") {
      size_t colon = value.rfind(':');
      if (colon == std::string_view::npos) return fail("expected point=NAME:RATE");
      std::string_view name = value.substr(0, colon);
      std::string_view rate_text = value.substr(colon + 1);
      if (auto bad = BadName(name, "point name")) return fail(*bad);
      std::optional<double> rate = ParseRate(rate_text);
      if (!rate) return fail(fmt::format("rate '{}' is not a number in [0, 1]", rate_text));
      if (!plan.point_rates.emplace(std::string(name), *rate).second) {
        return fail(fmt::format("point '{}' is given twice", name));
      }
    } else if (key == "at") {
      size_t colon = value.rfind(':');
      if (colon == std::string_view::npos) return fail("expected at=SITE:HIT or at=SITE:HIT:ACTION");
      FaultAction action = FaultAction::kTrap;
      std::string_view last = value.substr(colon + 1);
      if (std::optional<FaultAction> named = ActionNamed(last)) {
        action = *named;
        value = value.substr(0, colon);
        colon = value.rfind(':');
        if (colon == std::string_view::npos) return fail("expected at=SITE:HIT:ACTION");
      }
      std::string_view site = value.substr(0, colon);
      std::string_view hit_text = value.substr(colon + 1);
      if (auto bad = BadName(site, "site")) return fail(*bad);
      std::optional<uint64_t> hit = ParseHit(hit_text);
      if (!hit) {
        return fail(fmt::format("hit '{}' is not a whole number >= 1 (or the action is not "
                                "trap, hang or slow)",
                                hit_text));
      }
      if (!seen_triggers.emplace(std::string(site), *hit).second) {
        return fail(fmt::format("a fault at hit {} of '{}' is given twice", *hit, site));
      }
      plan.triggers.push_back(Trigger{std::string(site), *hit, action});
    } else {
      return fail(fmt::format("unknown key '{}' (expected trap, hang, slow, slow-ms, point or at)",
                              key));
    }
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  double sum = plan.trap_rate + plan.hang_rate + plan.slow_rate;
  if (sum > 1 + 1e-12) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("fault spec: trap + hang + slow rates add up to {:g}; at most 1", sum));
  }
  return plan;
}

std::string FaultPlan::ToSpec() const {
  std::vector<std::string> items;
  if (trap_rate != 0) items.push_back("trap=" + RateText(trap_rate));
  if (hang_rate != 0) items.push_back("hang=" + RateText(hang_rate));
  if (slow_rate != 0) items.push_back("slow=" + RateText(slow_rate));
  if (slow_delay != std::chrono::milliseconds(2)) {
    items.push_back("slow-ms=" + RateText(static_cast<double>(slow_delay.count()) / 1e6));
  }
  for (const auto& [name, rate] : point_rates) items.push_back(fmt::format("point={}:{}", name, RateText(rate)));
  for (const Trigger& trigger : triggers) {
    items.push_back(fmt::format("at={}:{}", trigger.site, trigger.hit));
    if (trigger.action != FaultAction::kTrap) {
      items.back() += fmt::format(":{}", FaultActionName(trigger.action));
    }
  }
  return fmt::format("{}", fmt::join(items, ","));
}

FaultInjector::FaultInjector(FaultPlan plan)
    : plan_(std::move(plan)),
      crossing_rates_(plan_.trap_rate > 0 || plan_.hang_rate > 0 || plan_.slow_rate > 0) {}

uint64_t FaultInjector::NextHit(std::map<std::string, uint64_t, std::less<>>& hits,
                                const std::string& site) {
  std::lock_guard lock(mutex_);
  return ++hits[site];
}

const FaultPlan::Trigger* FaultInjector::TriggerFor(std::string_view site, uint64_t hit) const {
  for (const FaultPlan::Trigger& trigger : plan_.triggers) {
    if (trigger.hit == hit && trigger.site == site) return &trigger;
  }
  return nullptr;
}

FaultDecision FaultInjector::Count(FaultAction action) {
  FaultDecision decision;
  decision.action = action;
  switch (action) {
    case FaultAction::kNone: break;
    case FaultAction::kTrap: traps_.fetch_add(1, std::memory_order_relaxed); break;
    case FaultAction::kHang: hangs_.fetch_add(1, std::memory_order_relaxed); break;
    case FaultAction::kSlow:
      slows_.fetch_add(1, std::memory_order_relaxed);
      decision.delay = plan_.slow_delay;
      break;
  }
  return decision;
}

FaultDecision FaultInjector::AtCrossing(std::string_view module, std::string_view export_name) {
  if (!enabled()) return {};
  std::string site = fmt::format("{}.{}", module, export_name);
  uint64_t hit = NextHit(crossing_hits_, site);
  if (const FaultPlan::Trigger* trigger = TriggerFor(site, hit)) return Count(trigger->action);
  if (!crossing_rates_) return {};
  double draw = Draw(plan_.seed, HashSite("crossing", site), hit);
  if (draw < plan_.trap_rate) return Count(FaultAction::kTrap);
  if (draw < plan_.trap_rate + plan_.hang_rate) return Count(FaultAction::kHang);
  if (draw < plan_.trap_rate + plan_.hang_rate + plan_.slow_rate) return Count(FaultAction::kSlow);
  return {};
}

FaultDecision FaultInjector::AtPoint(std::string_view module, std::string_view point) {
  if (!enabled()) return {};
  std::string key = fmt::format("{}\n{}", module, point);
  uint64_t hit = NextHit(point_hits_, key);
  if (const FaultPlan::Trigger* trigger = TriggerFor(point, hit)) return Count(trigger->action);
  auto rate = plan_.point_rates.find(point);
  if (rate == plan_.point_rates.end()) rate = plan_.point_rates.find("*");
  if (rate == plan_.point_rates.end()) return {};
  if (Draw(plan_.seed, HashSite("point", module, point), hit) < rate->second) {
    return Count(FaultAction::kTrap);
  }
  return {};
}

void FaultInjector::Withdraw(FaultAction action) {
  switch (action) {
    case FaultAction::kNone: break;
    case FaultAction::kTrap: traps_.fetch_sub(1, std::memory_order_relaxed); break;
    case FaultAction::kHang: hangs_.fetch_sub(1, std::memory_order_relaxed); break;
    case FaultAction::kSlow: slows_.fetch_sub(1, std::memory_order_relaxed); break;
  }
}

InjectionCounts FaultInjector::counts() const {
  InjectionCounts counts;
  counts.traps = traps_.load(std::memory_order_relaxed);
  counts.hangs = hangs_.load(std::memory_order_relaxed);
  counts.slows = slows_.load(std::memory_order_relaxed);
  return counts;
}

}  // namespace ringfence
