// Supervision policies: what a supervisor does when a module dies.
//
// The vocabulary is Erlang/OTP's and systemd's:
// - restart type, per module: permanent (always restarted), transient
//   (restarted after a trap, not after a clean stop: exit(0) or Stop()),
//   temporary (never restarted);
// - restart intensity: at most `max_restarts` restarts within `window`; one
//   more and the module (or group) has *failed*: its calls fail fast with an
//   error naming it and why, until Supervisor::Reset;
// - backoff: the first restart is immediate, the next ones wait
//   initial * multiplier^(n-1), capped at `max` (n: restarts already in the
//   window);
// - groups, with a strategy for the siblings of a module that died:
//   one_for_one (only it restarts), one_for_all (every module of the group
//   restarts), rest_for_one (it and the modules added after it restart).
//   Every restart also counts against each enclosing group's intensity; a
//   group past its intensity fails with all its modules. Past the root
//   group, the supervisor shuts the host down.
// - critical: a module or group whose failure (or, for a temporary module,
//   its death) shuts the host down cleanly, saying why, rather than limping on.
#ifndef RINGFENCE_SUPERVISION_POLICY_H_
#define RINGFENCE_SUPERVISION_POLICY_H_

#include <chrono>
#include <cstdint>
#include <string_view>

namespace ringfence {

enum class RestartType { kPermanent, kTransient, kTemporary };
enum class Strategy { kOneForOne, kOneForAll, kRestForOne };

// "permanent", "transient", "temporary"; "one_for_one", "one_for_all",
// "rest_for_one".
std::string_view RestartTypeName(RestartType type);
std::string_view StrategyName(Strategy strategy);

struct Intensity {
  uint32_t max_restarts = 5;
  std::chrono::nanoseconds window = std::chrono::seconds(10);
};

struct Backoff {
  std::chrono::nanoseconds initial = std::chrono::milliseconds(1);
  double multiplier = 2.0;
  std::chrono::nanoseconds max = std::chrono::seconds(1);
};

struct GroupOptions {
  Strategy strategy = Strategy::kOneForOne;
  Intensity intensity{20, std::chrono::seconds(10)};
  bool critical = false;
};

}  // namespace ringfence

#endif  // RINGFENCE_SUPERVISION_POLICY_H_
