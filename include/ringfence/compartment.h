// Compartment: one live instance of a module, in its own 4 GiB window.
//
// Create one from a loaded Module and call its exports:
//
//   auto compartment = Compartment::Create(module).value();
//   Result<int32_t> sum = compartment->Call<int32_t(int32_t, int32_t)>("add", 2, 3);
//
// or look an export up once and call it many times (the fast path):
//
//   auto add = compartment->GetExport<int32_t(int32_t, int32_t)>("add").value();
//   Result<int32_t> sum = add(2, 3);
//
// Outcomes of a call (see result.h): the value; a Trap if the module faulted
// (the instance is discarded at once - its memory reset, its tables freed -
// and the next call runs on a fresh instance made from the module's pristine
// state); or a Status if the call could not run (no such export, wrong
// signature, the fresh instance could not be made).
//
// Threads: a compartment runs module code on one thread at a time (wasm32
// code is single-threaded). Calls from several threads are safe: a thread
// that finds another inside waits, up to its call's deadline. The same thread
// may re-enter (host -> A -> host -> A). The thread that used a compartment
// last keeps a cheap claim on it, so calls from one thread cost a few stores;
// a call from another thread takes the claim over (a process-wide memory
// barrier, about a microsecond). For parallel throughput, use a
// CompartmentPool. A compartment must outlive its TypedExports and Windows,
// and no thread may be inside it when it is destroyed.
#ifndef RINGFENCE_COMPARTMENT_H_
#define RINGFENCE_COMPARTMENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ringfence/module_file.h"
#include "ringfence/result.h"
#include "ringfence/status.h"
#include "ringfence/trap.h"
#include "ringfence/typed_export.h"
#include "ringfence/value.h"
#include "ringfence/window.h"

namespace ringfence {

class FaultInjector;  // fault_injection.h
class Lock;           // lock.h
class Region;         // region.h
namespace internal {
class CompartmentImpl;
class CompartmentAccess;
}  // namespace internal

struct CompartmentOptions {
  // Most memory the module may have; memory.grow past it fails (returns -1,
  // so malloc returns NULL), and a module whose initial memory is larger
  // fails to start (kInstantiateFailed, trap kind memory-limit). Rounded down
  // to 64 KiB pages; at most 4 GiB - 64 KiB.
  uint64_t memory_limit_bytes = uint64_t{256} << 20;
  // Deadline of every call from the host (zero: none). A module still
  // running when it passes is preempted and the call returns a Trap of kind
  // timeout; a thread blocked in a host service is woken and unwound the
  // same way. Each start of an instance (Create, a restart) has the same
  // limit: start-up code still running then fails the start
  // (kInstantiateFailed, trap kind timeout). Calls the module makes to linked modules share the deadline.
  // With the process backend it also bounds a worker's start (at least
  // 1 s; 10 s without a call_timeout).
  std::chrono::nanoseconds call_timeout{0};
  // Whether a dead compartment makes a fresh instance for its next call.
  // A supervisor turns this off: it restarts the compartment itself
  // (Restart(), then replays its journal) and, until it has, calls fail with
  // kUnavailable without running.
  bool restart_on_demand = true;
  // Injects faults into calls and at the module's fault points (null: none;
  // see fault_injection.h). Shared: one injector may serve many
  // compartments. A compartment with an injector never takes the fast path:
  // every call asks the injector first.
  std::shared_ptr<FaultInjector> fault_injector;
  // Keeps a warm spare: a second instance, in a second window, made in
  // advance by a background thread (the module's start-up code runs there),
  // so that the restart after a trap, a kill or Restart() is a swap of
  // instances instead of a window reset plus a start-up on the caller's
  // thread. The discarded instance's window is reset in the background and
  // becomes the next spare. If no spare is ready when one is needed (faults
  // faster than spares are made, or the spare's start-up trapped) the restart
  // happens the ordinary way, on the caller's thread; no call waits for a
  // spare. Costs a second 8 GiB reservation and the spare's memory.
  // Set-up (Provide, MapRegion, Link) applies to both instances; a spare
  // made before a set-up call is made again after it.
  bool warm_spare = false;
  // The backend the caller expects (none: whichever the module was built
  // for). Create fails with kInvalidArgument if the module was built for
  // the other one. With the process backend the instance is a sandboxed
  // worker process (docs/process-backend.md); the warm spare is then a
  // pre-started worker.
  std::optional<Isolation> isolation;
};

class Compartment {
 public:
  enum class State {
    kReady,  // an instance is live and can serve calls
    kDead,   // the instance trapped and was discarded; the next call restarts it
  };

  // Reserves the window and makes the first instance (memory, tables, data,
  // then the module's _initialize). Errors: kResourceExhausted (no address
  // space for the window), kInstantiateFailed (the module trapped while
  // starting, e.g. its initial memory is over the limit).
  static StatusOr<std::unique_ptr<Compartment>> Create(
      std::shared_ptr<const Module> module, CompartmentOptions options = {});

  ~Compartment();
  Compartment(const Compartment&) = delete;
  Compartment& operator=(const Compartment&) = delete;

  // --- Calls. Each returns the value, a Trap or a Status (see the top). ---

  // Looks up `name` and checks that its signature is Sig. Errors: kNotFound,
  // kSignatureMismatch.
  template <typename Sig>
  StatusOr<TypedExport<Sig>> GetExport(std::string_view name) {
    StatusOr<internal::ExportTarget> target =
        FindTypedExport(name, internal::SignatureOf<Sig>::Get());
    if (!target.ok()) return target.status();
    return TypedExport<Sig>(*target);
  }

  // GetExport and call in one step.
  template <typename Sig, typename... Args>
  Result<typename internal::SignatureOf<Sig>::Return> Call(std::string_view name, Args... args) {
    StatusOr<TypedExport<Sig>> function = GetExport<Sig>(name);
    if (!function.ok()) return function.status();
    return (*function)(args...);
  }

  // Calls an export with runtime-typed arguments (for tools). Errors:
  // kNotFound, kInvalidArgument (wrong number or types of arguments).
  Result<std::optional<Value>> CallDynamic(std::string_view name, std::span<const Value> args);

  // --- Kill and restart. ---

  // Discards the current instance (if any) and makes a fresh one now.
  // kUnavailable if a thread is inside.
  Status Restart();

  // Kills the instance, from any thread. If no thread is inside, it is
  // discarded now. Otherwise the thread inside is preempted if it runs module
  // code, woken if it waits in a host service (a lock, a sleep), and unwound
  // to the gate where it entered: its call returns a Trap of kind killed, and
  // none of the module's code runs again. The next call starts a fresh
  // instance. Locks the instance held pass on marked owner died.
  void Kill();

  // With CompartmentOptions::warm_spare: blocks until the background thread
  // is done making this compartment's spare instance, then returns whether
  // one is ready (false if its start-up trapped), so that the next restart
  // is a swap. Returns false at once without warm_spare. It waits for the
  // module's start-up code: call it before a burst where restarts must be
  // quick (or in a benchmark of them), never on a call path.
  bool WaitForSpare();

  // --- Set-up: links, locks, regions. Call while no thread is inside,
  // typically before the compartment is handed to other threads. ---

  // Links the module's import `import_module`.`import_name` (declared with
  // RF_IMPORT) to `target`'s export `export_name`. `target` may be this
  // compartment (re-entry) and must outlive this one. Errors: kNotFound (no
  // such import or export), kSignatureMismatch, kUnavailable (a thread is
  // inside).
  Status Link(std::string_view import_module, std::string_view import_name, Compartment& target,
              std::string_view export_name);
  // Links every import from `import_module` to `target`'s export of the same
  // name. Same errors.
  Status LinkModule(std::string_view import_module, Compartment& target);

  // Makes `lock` available to the module under `name` (rf_lock_open). The
  // compartment shares ownership. kInvalidArgument for an empty name or one
  // already provided.
  Status Provide(std::string name, std::shared_ptr<Lock> lock);

  // Maps `region` into this compartment's window at byte `offset`, where the
  // module finds it under `name` (rf_region_open, rf_region_offset). The
  // offset must be a multiple of 64 KiB, at or above the memory limit (so the
  // module's own memory never grows into it), the region must end at or
  // below 4 GiB, and it must not overlap another region. The mapping stays
  // across restarts. kInvalidArgument otherwise.
  Status MapRegion(std::string name, std::shared_ptr<Region> region, uint64_t offset);

  // --- The module's memory. ---

  // Checked access to the module's memory (window.h).
  Window window() { return Window(this); }

  // --- State. ---

  State state() const;
  const Module& module() const;
  const std::shared_ptr<const Module>& shared_module() const;
  // Instances made after the first (restarts after traps and Restart()).
  uint64_t restart_count() const;
  // The most recent trap, if any. Read it on a thread that calls the
  // compartment (it changes at the next trap); LastTrapCopy from others.
  const std::optional<Trap>& last_trap() const;
  // The same, copied safely from any thread.
  std::optional<Trap> LastTrapCopy() const;
  // No thread is inside right now (a snapshot: it may change at once).
  bool idle() const;
  // Handles the live instance has open.
  uint32_t open_handles() const;

 private:
  friend class internal::CompartmentAccess;  // src/compartment/compartment_impl.h

  explicit Compartment(std::unique_ptr<internal::CompartmentImpl> impl);

  // GetExport's checks; what a TypedExport needs on success.
  StatusOr<internal::ExportTarget> FindTypedExport(std::string_view name,
                                                   const Signature& expected);

  std::unique_ptr<internal::CompartmentImpl> impl_;
};

}  // namespace ringfence

#endif  // RINGFENCE_COMPARTMENT_H_
