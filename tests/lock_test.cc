// Owner-tracked locks (DESIGN.md invariant 6, scenario S2): host-side
// semantics (timeouts, no recursion, owner-only release, owner died,
// unrecoverable, contention), the module services (rf_lock_* through
// lib_locks) and what happens to a lock when its holder dies, is killed or
// runs out of time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringfence/compartment.h"
#include "ringfence/lock.h"
#include "ringfence/module.h"
#include "ringfence/region.h"
#include "src/gate/futex.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::CreateOrDie;
using testing::Describe;
using testing::IsOk;
using testing::LoadOrDie;
using testing::TestModulePath;

using Clock = std::chrono::steady_clock;

std::string Describe(const StatusOr<LockOutcome>& outcome) {
  if (!outcome.ok()) return outcome.status().ToString();
  return *outcome == LockOutcome::kAcquired ? "acquired" : "owner-died";
}

// Acquire's outcome, or its status code's name: one value to compare.
std::string OutcomeOf(const StatusOr<LockOutcome>& outcome) {
  if (!outcome.ok()) return std::string(StatusCodeName(outcome.status().code()));
  return *outcome == LockOutcome::kAcquired ? "acquired" : "owner-died";
}

using testing::Eventually;

// ---------------------------------------------------------------------------
// Host side.

TEST(LockTest, AcquireAndRelease) {
  std::shared_ptr<Lock> lock = Lock::Create("table");
  EXPECT_EQ(lock->name(), "table");
  EXPECT_FALSE(lock->held());
  for (int round = 0; round < 3; ++round) {
    StatusOr<LockOutcome> outcome = lock->Acquire();
    ASSERT_EQ(OutcomeOf(outcome), "acquired") << Describe(outcome);
    EXPECT_TRUE(lock->held());
    EXPECT_EQ(lock->holder_thread(), gettid());
    EXPECT_TRUE(lock->BusyFor(Lock::HostOwnerId()));
    EXPECT_TRUE(IsOk(lock->Release()));
    EXPECT_FALSE(lock->held());
    EXPECT_EQ(lock->holder_thread(), 0);
    EXPECT_FALSE(lock->owner_died());
    EXPECT_FALSE(lock->unrecoverable());
  }
}

TEST(LockTest, HostThreadsHaveDistinctOwnerIds) {
  uint32_t mine = Lock::HostOwnerId();
  uint32_t other = std::async(std::launch::async, [] { return Lock::HostOwnerId(); }).get();
  EXPECT_EQ(Lock::HostOwnerId(), mine);  // stable per thread
  EXPECT_NE(mine, other);
  for (uint32_t id : {mine, other}) {
    EXPECT_GE(id, Lock::kFirstHostOwnerId);
    EXPECT_LT(id, Lock::kOwnerIdLimit);
  }
}

TEST(LockTest, AcquireTimesOutWhileAnotherThreadHoldsIt) {
  std::shared_ptr<Lock> lock = Lock::Create("busy");
  ASSERT_EQ(OutcomeOf(lock->Acquire()), "acquired");
  std::async(std::launch::async, [&] {
    Clock::time_point start = Clock::now();
    StatusOr<LockOutcome> outcome = lock->Acquire(30ms);
    EXPECT_GE(Clock::now() - start, 30ms);
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.status().code(), StatusCode::kDeadlineExceeded);
    EXPECT_THAT(outcome.status().message(), HasSubstr("'busy'"));
    // A zero timeout tries once.
    EXPECT_EQ(OutcomeOf(lock->Acquire(0ns)), "deadline-exceeded");
    EXPECT_EQ(OutcomeOf(lock->Acquire(-5ms)), "deadline-exceeded");
  }).get();
  EXPECT_TRUE(lock->held());
  ASSERT_TRUE(IsOk(lock->Release()));
  std::async(std::launch::async, [&] {
    EXPECT_EQ(OutcomeOf(lock->Acquire(0ns)), "acquired");
    EXPECT_TRUE(IsOk(lock->Release()));
  }).get();
}

TEST(LockTest, RecursiveAcquireIsRefused) {
  std::shared_ptr<Lock> lock = Lock::Create("once");
  ASSERT_EQ(OutcomeOf(lock->Acquire()), "acquired");
  StatusOr<LockOutcome> again = lock->Acquire(1s);  // refused, not waited for
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), AllOf(HasSubstr("'once'"), HasSubstr("already held")));
  EXPECT_TRUE(lock->held());  // the refusal did not disturb the holder
  EXPECT_TRUE(IsOk(lock->Release()));
  EXPECT_FALSE(lock->held());
}

TEST(LockTest, OnlyTheOwnerMayReleaseOrMarkConsistent) {
  std::shared_ptr<Lock> lock = Lock::Create("mine");
  Status free_release = lock->Release();
  EXPECT_EQ(free_release.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(free_release.message(), HasSubstr("'mine'"));
  ASSERT_EQ(OutcomeOf(lock->Acquire()), "acquired");
  pid_t holder = lock->holder_thread();
  std::async(std::launch::async, [&] {
    EXPECT_EQ(lock->Release().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(lock->MarkConsistent().code(), StatusCode::kFailedPrecondition);
  }).get();
  EXPECT_TRUE(lock->held());
  EXPECT_EQ(lock->holder_thread(), holder);  // a refused release changes nothing
  EXPECT_TRUE(IsOk(lock->Release()));
  EXPECT_EQ(lock->Release().code(), StatusCode::kFailedPrecondition);  // twice
}

// A compartment (owner id 7) dies holding the lock: its handle table calls
// ReleaseFromDeadHolder. The next acquirer learns of it.
TEST(LockTest, DeadHolderPassesTheLockOnMarkedOwnerDied) {
  constexpr uint32_t kDead = 7;
  std::shared_ptr<Lock> lock = Lock::Create("records");
  ASSERT_EQ(lock->AcquireFor(kDead, 0, nullptr), RF_OK);
  EXPECT_TRUE(lock->BusyFor(kDead));
  EXPECT_FALSE(lock->BusyFor(kDead + 1));
  lock->ReleaseFromDeadHolder(kDead + 1);  // holds nothing: no effect
  EXPECT_TRUE(lock->BusyFor(kDead));
  EXPECT_FALSE(lock->owner_died());

  lock->ReleaseFromDeadHolder(kDead);
  EXPECT_FALSE(lock->held());
  EXPECT_TRUE(lock->owner_died());
  ASSERT_EQ(OutcomeOf(lock->Acquire()), "owner-died");
  EXPECT_TRUE(lock->owner_died());  // until marked
  EXPECT_TRUE(IsOk(lock->MarkConsistent()));
  EXPECT_FALSE(lock->owner_died());
  EXPECT_TRUE(IsOk(lock->MarkConsistent()));  // nothing left to repair: still ok
  ASSERT_TRUE(IsOk(lock->Release()));
  EXPECT_FALSE(lock->unrecoverable());
  EXPECT_EQ(OutcomeOf(lock->Acquire()), "acquired");
  EXPECT_TRUE(IsOk(lock->Release()));
}

TEST(LockTest, DeadHolderWakesAWaiterWithOwnerDied) {
  constexpr uint32_t kDead = 7;
  std::shared_ptr<Lock> lock = Lock::Create("records");
  ASSERT_EQ(lock->AcquireFor(kDead, 0, nullptr), RF_OK);
  std::future<std::string> waiter = std::async(std::launch::async, [&] {
    std::string outcome = OutcomeOf(lock->Acquire(10s));
    if (outcome == "owner-died") {
      EXPECT_TRUE(IsOk(lock->MarkConsistent()));
      EXPECT_TRUE(IsOk(lock->Release()));
    }
    return outcome;
  });
  ASSERT_TRUE(Eventually([&] { return lock->has_waiters(); }));
  Clock::time_point died = Clock::now();
  lock->ReleaseFromDeadHolder(kDead);
  EXPECT_EQ(waiter.get(), "owner-died");
  EXPECT_LT(Clock::now() - died, 5s);  // woken, not at its own deadline
  EXPECT_FALSE(lock->held());
  EXPECT_FALSE(lock->owner_died());
}

// An owner that acquired with owner died and died itself before repairing:
// the mark stays for the next one (not unrecoverable: nobody released it).
TEST(LockTest, OwnerDiedMarkSurvivesASecondDeath) {
  std::shared_ptr<Lock> lock = Lock::Create("records");
  ASSERT_EQ(lock->AcquireFor(7, 0, nullptr), RF_OK);
  lock->ReleaseFromDeadHolder(7);
  ASSERT_EQ(lock->AcquireFor(8, 0, nullptr), RF_OWNER_DIED);
  lock->ReleaseFromDeadHolder(8);
  EXPECT_EQ(lock->AcquireFor(9, 0, nullptr), RF_OWNER_DIED);
  EXPECT_EQ(lock->MarkConsistentFor(8), RF_ENOTOWNER);
  EXPECT_EQ(lock->MarkConsistentFor(9), RF_OK);
  EXPECT_EQ(lock->ReleaseFor(9), RF_OK);
  EXPECT_EQ(lock->AcquireFor(10, 0, nullptr), RF_OK);
}

TEST(LockTest, ReleaseWithoutMarkConsistentMakesItUnrecoverable) {
  std::shared_ptr<Lock> lock = Lock::Create("ledger");
  ASSERT_EQ(lock->AcquireFor(7, 0, nullptr), RF_OK);
  lock->ReleaseFromDeadHolder(7);
  ASSERT_EQ(OutcomeOf(lock->Acquire()), "owner-died");
  EXPECT_TRUE(IsOk(lock->Release()));  // the release itself succeeds
  EXPECT_TRUE(lock->unrecoverable());
  EXPECT_FALSE(lock->held());
  EXPECT_FALSE(lock->owner_died());

  StatusOr<LockOutcome> outcome = lock->Acquire();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(outcome.status().message(), AllOf(HasSubstr("'ledger'"), HasSubstr("unrecoverable")));
  std::async(std::launch::async, [&] {
    EXPECT_EQ(lock->Acquire(1s).status().code(), StatusCode::kFailedPrecondition);
  }).get();
  EXPECT_EQ(lock->AcquireFor(3, 0, nullptr), RF_EUNRECOVERABLE);
  // Nobody owns it, so nobody can release or repair it.
  EXPECT_EQ(lock->ReleaseFor(3), RF_ENOTOWNER);
  EXPECT_EQ(lock->MarkConsistent().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(lock->Release().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(lock->unrecoverable());
}

TEST(LockTest, BecomingUnrecoverableWakesEveryWaiter) {
  std::shared_ptr<Lock> lock = Lock::Create("ledger");
  ASSERT_EQ(lock->AcquireFor(7, 0, nullptr), RF_OK);
  lock->ReleaseFromDeadHolder(7);
  ASSERT_EQ(OutcomeOf(lock->Acquire()), "owner-died");
  std::vector<std::future<std::string>> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.push_back(std::async(std::launch::async, [&] { return OutcomeOf(lock->Acquire(10s)); }));
  }
  ASSERT_TRUE(Eventually([&] { return lock->has_waiters(); }));
  std::this_thread::sleep_for(20ms);  // let the others go to sleep too
  Clock::time_point released = Clock::now();
  ASSERT_TRUE(IsOk(lock->Release()));
  for (std::future<std::string>& waiter : waiters) EXPECT_EQ(waiter.get(), "failed-precondition");
  EXPECT_LT(Clock::now() - released, 5s);  // woken, not timed out
}

// Module waiters also wait on their compartment's kill word.
TEST(LockTest, KillWordEndsAWaitAtOnce) {
  std::shared_ptr<Lock> lock = Lock::Create("held");
  ASSERT_EQ(OutcomeOf(lock->Acquire()), "acquired");
  std::atomic<uint32_t> kill_word{0};
  std::future<int32_t> waiter = std::async(std::launch::async, [&] {
    return lock->AcquireFor(5, 0, &kill_word);
  });
  ASSERT_TRUE(Eventually([&] { return lock->has_waiters(); }));
  Clock::time_point killed = Clock::now();
  kill_word.store(RF_TRAP_KILLED);
  internal::FutexWake(kill_word, INT32_MAX);
  if (waiter.wait_for(5s) != std::future_status::ready) {
    ADD_FAILURE() << "the kill word did not end the wait";
    ASSERT_TRUE(IsOk(lock->Release()));  // lets the waiter finish
  }
  EXPECT_EQ(waiter.get(), Lock::kAcquireKilled);
  EXPECT_LT(Clock::now() - killed, 5s);
  EXPECT_FALSE(lock->BusyFor(5));
  // With the kill word already set, a held lock is not waited for at all.
  // (A free one is taken by the fast path, which does not look at the kill
  // word: the service hands it back before unwinding.)
  ASSERT_TRUE(IsOk(lock->Release()));
  ASSERT_EQ(lock->AcquireFor(6, 0, nullptr), RF_OK);
  EXPECT_EQ(lock->AcquireFor(5, 0, &kill_word), Lock::kAcquireKilled);
  EXPECT_EQ(lock->ReleaseFor(6), RF_OK);
  EXPECT_FALSE(lock->owner_died());
}

// A killed waiter may have been woken by a release (which wakes only one
// waiter): it must pass the wake-up on, or the next waiter sleeps on a free
// lock. The kill word is set without a wake-up of its own, so the release's
// wake-up is what ends the killed waiter's sleep (waiters are woken in the
// order they went to sleep).
TEST(LockTest, KilledWaiterPassesItsWakeUpOn) {
  std::shared_ptr<Lock> lock = Lock::Create("held");
  ASSERT_EQ(OutcomeOf(lock->Acquire()), "acquired");
  std::atomic<uint32_t> kill_word{0};
  std::future<int32_t> killed = std::async(std::launch::async, [&] {
    return lock->AcquireFor(5, 0, &kill_word);
  });
  ASSERT_TRUE(Eventually([&] { return lock->has_waiters(); }));
  std::this_thread::sleep_for(20ms);  // asleep first
  std::future<std::string> patient = std::async(std::launch::async, [&] {
    std::string outcome = OutcomeOf(lock->Acquire(5s));
    if (outcome == "acquired") EXPECT_TRUE(IsOk(lock->Release()));
    return outcome;
  });
  std::this_thread::sleep_for(20ms);  // asleep second
  kill_word.store(RF_TRAP_KILLED);
  Clock::time_point released = Clock::now();
  ASSERT_TRUE(IsOk(lock->Release()));
  EXPECT_EQ(killed.get(), Lock::kAcquireKilled);
  EXPECT_EQ(patient.get(), "acquired");
  // Woken, not rescued by its own deadline (a waiter that wakes at its
  // deadline still takes a free lock).
  EXPECT_LT(Clock::now() - released, 2s);
}

TEST(LockTest, DeadlineEndsAModuleWait) {
  std::shared_ptr<Lock> lock = Lock::Create("held");
  ASSERT_EQ(OutcomeOf(lock->Acquire()), "acquired");
  std::atomic<uint32_t> kill_word{0};
  std::async(std::launch::async, [&] {
    uint64_t start = internal::MonotonicNs();
    EXPECT_EQ(lock->AcquireFor(5, start + 30'000'000, &kill_word), RF_ETIMEDOUT);
    EXPECT_GE(internal::MonotonicNs() - start, 30'000'000u);
  }).get();
  EXPECT_TRUE(IsOk(lock->Release()));
}

TEST(LockTest, AbandonKeepsTheOwnerDiedMarkAsItWas) {
  std::shared_ptr<Lock> lock = Lock::Create("records");
  ASSERT_EQ(lock->AcquireFor(7, 0, nullptr), RF_OK);
  EXPECT_EQ(lock->AbandonFor(7), RF_OK);
  EXPECT_FALSE(lock->owner_died());
  EXPECT_FALSE(lock->held());
  ASSERT_EQ(lock->AcquireFor(7, 0, nullptr), RF_OK);
  lock->ReleaseFromDeadHolder(7);
  ASSERT_EQ(lock->AcquireFor(8, 0, nullptr), RF_OWNER_DIED);
  EXPECT_EQ(lock->AbandonFor(8), RF_OK);
  EXPECT_TRUE(lock->owner_died());
  EXPECT_FALSE(lock->unrecoverable());
  EXPECT_EQ(lock->AbandonFor(8), RF_ENOTOWNER);
}

// N threads x M increments of a plain counter under the lock: a lock that
// let two holders in at once (or lost a wake-up) shows as a wrong count (or
// a hang, which the Acquire timeout turns into a failure).
TEST(LockTest, ContendedCounterCountsEveryIncrement) {
  constexpr int kThreads = 8;
  constexpr int kIncrements = 20000;
  std::shared_ptr<Lock> lock = Lock::Create("counter");
  uint64_t counter = 0;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        StatusOr<LockOutcome> outcome = lock->Acquire(20s);
        if (!outcome.ok() || *outcome != LockOutcome::kAcquired) {
          failures.fetch_add(1);
          return;
        }
        uint64_t value = counter;
        if (i % 64 == 0) std::this_thread::yield();  // widen the window
        counter = value + 1;
        if (!lock->Release().ok()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(counter, uint64_t{kThreads} * kIncrements);
  EXPECT_FALSE(lock->held());
}

// Waiters that give up (short timeouts) must not swallow the wake-up meant
// for a waiter that stays: the patient threads' long timeout would expire.
TEST(LockTest, WaitersThatGiveUpPassTheirWakeUpOn) {
  constexpr int kPatient = 3;
  constexpr int kImpatient = 5;
  constexpr int kRounds = 3000;
  std::shared_ptr<Lock> lock = Lock::Create("churn");
  std::atomic<int> patient_failures{0};
  std::atomic<int64_t> longest_wait_ms{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kImpatient; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        StatusOr<LockOutcome> outcome = lock->Acquire(std::chrono::microseconds(1 + (i + t) % 50));
        if (outcome.ok()) (void)lock->Release();
      }
    });
  }
  std::vector<std::thread> patient;
  for (int t = 0; t < kPatient; ++t) {
    patient.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        Clock::time_point start = Clock::now();
        if (!lock->Acquire(20s).ok()) {
          patient_failures.fetch_add(1);
          return;
        }
        // A waiter that wakes at its deadline still takes a free lock, so a
        // lost wake-up shows as a long wait rather than a failure.
        int64_t waited =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
        int64_t longest = longest_wait_ms.load();
        while (waited > longest && !longest_wait_ms.compare_exchange_weak(longest, waited)) {
        }
        std::this_thread::yield();
        (void)lock->Release();
      }
    });
  }
  for (std::thread& thread : patient) thread.join();
  stop.store(true);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(patient_failures.load(), 0);
  EXPECT_LT(longest_wait_ms.load(), 2000);
  EXPECT_FALSE(lock->held());
}

// ---------------------------------------------------------------------------
// Modules (lib_locks) through the rf_lock_* services.

std::shared_ptr<const Module> LocksModule() {
  static const std::shared_ptr<const Module> module = LoadOrDie(TestModulePath("lib_locks"));
  return module;
}

// Calls export `name` and expects a value; a trap or error is a failure
// (reported, and INT32_MIN returned).
template <typename... A>
int32_t CallValue(Compartment& compartment, const char* name, A... args) {
  Result<int32_t> result = compartment.Call<int32_t(A...)>(name, args...);
  if (!result.ok()) {
    ADD_FAILURE() << name << ": " << Describe(result);
    return INT32_MIN;
  }
  return result.value();
}

class LockModuleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lock_ = Lock::Create("shared");
    a_ = NewCompartment();
    b_ = NewCompartment();
  }

  std::unique_ptr<Compartment> NewCompartment(CompartmentOptions options = {}) {
    std::unique_ptr<Compartment> compartment = CreateOrDie(LocksModule(), options);
    EXPECT_TRUE(IsOk(compartment->Provide("shared", lock_)));
    return compartment;
  }

  // A handle to "shared" in the compartment's live instance.
  static int32_t Open(Compartment& compartment) {
    int32_t handle = CallValue(compartment, "open_shared");
    EXPECT_GT(handle, 0);
    return handle;
  }

  // rf_lock_open on `name`, written into the module's name buffer.
  static int32_t OpenName(Compartment& compartment, std::string_view name) {
    int32_t buffer = CallValue(compartment, "name_buffer");
    EXPECT_TRUE(IsOk(compartment.window().CopyIn(static_cast<uint64_t>(buffer), name)));
    return CallValue(compartment, "open_name", static_cast<int32_t>(name.size()));
  }

  std::shared_ptr<Lock> lock_;
  std::unique_ptr<Compartment> a_;
  std::unique_ptr<Compartment> b_;
};

TEST_F(LockModuleTest, ProvideRefusesEmptyAndDuplicateNames) {
  EXPECT_EQ(a_->Provide("", Lock::Create("x")).code(), StatusCode::kInvalidArgument);
  Status duplicate = a_->Provide("shared", Lock::Create("other"));
  EXPECT_EQ(duplicate.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(duplicate.message(), HasSubstr("'shared'"));
  EXPECT_EQ(a_->Provide("null", nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(IsOk(a_->Provide("second", Lock::Create("second"))));
  EXPECT_GT(OpenName(*a_, "second"), 0);
}

TEST_F(LockModuleTest, AcquireAndReleaseAcrossCalls) {
  int32_t handle = Open(*a_);
  EXPECT_EQ(a_->open_handles(), 1u);
  ASSERT_EQ(CallValue(*a_, "acquire", handle), RF_OK);
  // The lock stays held between calls: the compartment is the owner.
  EXPECT_TRUE(lock_->held());
  EXPECT_EQ(OutcomeOf(lock_->Acquire(0ns)), "deadline-exceeded");
  EXPECT_EQ(CallValue(*a_, "release", handle), RF_OK);
  EXPECT_FALSE(lock_->held());
  ASSERT_EQ(OutcomeOf(lock_->Acquire(0ns)), "acquired");
  EXPECT_TRUE(IsOk(lock_->Release()));
  EXPECT_EQ(CallValue(*a_, "acquire_release_loop", handle, 1000), RF_OK);
  EXPECT_FALSE(lock_->held());
}

TEST_F(LockModuleTest, OpenRefusesUnknownNamesAndBadPointers) {
  EXPECT_EQ(OpenName(*a_, "missing"), RF_ENOTFOUND);
  EXPECT_EQ(OpenName(*a_, "share"), RF_ENOTFOUND);  // a prefix is not the name
  EXPECT_EQ(CallValue(*a_, "open_raw", static_cast<int32_t>(0xfffffff0u), 64), RF_EFAULT);
  EXPECT_EQ(CallValue(*a_, "open_raw", 16, -1), RF_EINVAL);  // longer than any name
  EXPECT_EQ(a_->open_handles(), 0u);
  // A region is not a lock, even under a name the module asks for.
  StatusOr<std::shared_ptr<Region>> region = Region::Create(Region::kGranuleBytes);
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  ASSERT_TRUE(IsOk(a_->MapRegion("record", *region, uint64_t{1} << 30)));
  EXPECT_EQ(OpenName(*a_, "record"), RF_ENOTFOUND);
  EXPECT_GT(OpenName(*a_, "shared"), 0);
  EXPECT_EQ(a_->open_handles(), 1u);
}

TEST_F(LockModuleTest, BadHandlesAreRefused) {
  // Forged: never opened.
  for (int32_t forged : {0, -1, 1, 4096, 12345, INT32_MAX, INT32_MIN}) {
    EXPECT_EQ(CallValue(*a_, "acquire", forged), RF_EBADHANDLE) << forged;
    EXPECT_EQ(CallValue(*a_, "release", forged), RF_EBADHANDLE) << forged;
    EXPECT_EQ(CallValue(*a_, "mark_consistent", forged), RF_EBADHANDLE) << forged;
  }
  // Closed.
  int32_t closed = Open(*a_);
  EXPECT_EQ(CallValue(*a_, "close_handle", closed), RF_OK);
  EXPECT_EQ(CallValue(*a_, "acquire", closed), RF_EBADHANDLE);
  EXPECT_EQ(CallValue(*a_, "release", closed), RF_EBADHANDLE);
  EXPECT_EQ(CallValue(*a_, "close_handle", closed), RF_EBADHANDLE);
  // Stale: from an instance that died (handles die with it).
  int32_t stale = Open(*a_);
  ASSERT_TRUE(a_->Call<int32_t(int32_t, int32_t)>("divide", 1, 0).trapped());
  EXPECT_EQ(CallValue(*a_, "acquire", stale), RF_EBADHANDLE);
  EXPECT_EQ(a_->open_handles(), 0u);
  // Another kind: a region handle is no lock handle.
  StatusOr<std::shared_ptr<Region>> region = Region::Create(Region::kGranuleBytes);
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  ASSERT_TRUE(IsOk(b_->MapRegion("record", *region, uint64_t{1} << 30)));
  int32_t region_handle = CallValue(*b_, "open_record");
  ASSERT_GT(region_handle, 0);
  EXPECT_EQ(CallValue(*b_, "acquire", region_handle), RF_EBADHANDLE);
  EXPECT_EQ(CallValue(*b_, "release", region_handle), RF_EBADHANDLE);
  EXPECT_EQ(CallValue(*b_, "mark_consistent", region_handle), RF_EBADHANDLE);
  EXPECT_FALSE(lock_->held());
}

TEST_F(LockModuleTest, AcquiringTwiceIsADeadlockError) {
  // With a deadline, so that a lock that waited for itself fails the test
  // instead of hanging it.
  CompartmentOptions options;
  options.call_timeout = 2s;
  std::unique_ptr<Compartment> compartment = NewCompartment(options);
  int32_t handle = Open(*compartment);
  ASSERT_EQ(CallValue(*compartment, "acquire", handle), RF_OK);
  EXPECT_EQ(CallValue(*compartment, "acquire", handle), RF_EDEADLK);
  int32_t second = Open(*compartment);  // the same lock through another handle
  EXPECT_EQ(CallValue(*compartment, "acquire", second), RF_EDEADLK);
  // The owner is the compartment, not the handle.
  EXPECT_EQ(CallValue(*compartment, "release", second), RF_OK);
  EXPECT_FALSE(lock_->held());
}

TEST_F(LockModuleTest, OnlyTheOwningCompartmentMayRelease) {
  int32_t a_handle = Open(*a_);
  int32_t b_handle = Open(*b_);
  EXPECT_EQ(CallValue(*a_, "release", a_handle), RF_ENOTOWNER);  // not held at all
  EXPECT_EQ(CallValue(*a_, "mark_consistent", a_handle), RF_ENOTOWNER);
  ASSERT_EQ(CallValue(*a_, "acquire", a_handle), RF_OK);
  EXPECT_EQ(CallValue(*b_, "release", b_handle), RF_ENOTOWNER);
  EXPECT_EQ(CallValue(*b_, "mark_consistent", b_handle), RF_ENOTOWNER);
  EXPECT_EQ(lock_->Release().code(), StatusCode::kFailedPrecondition);  // nor the host
  EXPECT_TRUE(lock_->held());
  EXPECT_EQ(CallValue(*a_, "release", a_handle), RF_OK);
}

TEST_F(LockModuleTest, ClosingAHeldLockIsBusy) {
  int32_t handle = Open(*a_);
  ASSERT_EQ(CallValue(*a_, "acquire", handle), RF_OK);
  EXPECT_EQ(CallValue(*a_, "close_handle", handle), RF_EBUSY);
  EXPECT_EQ(a_->open_handles(), 1u);
  EXPECT_EQ(CallValue(*a_, "release", handle), RF_OK);
  EXPECT_EQ(CallValue(*a_, "close_handle", handle), RF_OK);
  EXPECT_EQ(a_->open_handles(), 0u);
  // Closing a handle of a lock another owner holds is fine.
  int32_t other = Open(*a_);
  ASSERT_EQ(OutcomeOf(lock_->Acquire()), "acquired");
  EXPECT_EQ(CallValue(*a_, "close_handle", other), RF_OK);
  EXPECT_TRUE(IsOk(lock_->Release()));
}

// S2: the module traps in the call that acquired the lock.
TEST_F(LockModuleTest, TrapWhileHoldingPassesTheLockOnMarkedOwnerDied) {
  int32_t handle = Open(*a_);
  Result<int32_t> trapped = a_->Call<int32_t(int32_t)>("acquire_then_trap", handle);
  ASSERT_TRUE(trapped.trapped()) << Describe(trapped);
  EXPECT_EQ(trapped.trap().kind, TrapKind::kUnreachable);
  EXPECT_FALSE(lock_->held());
  EXPECT_TRUE(lock_->owner_died());

  StatusOr<LockOutcome> outcome = lock_->Acquire(1s);
  ASSERT_EQ(OutcomeOf(outcome), "owner-died");
  EXPECT_TRUE(IsOk(lock_->MarkConsistent()));
  EXPECT_TRUE(IsOk(lock_->Release()));
  // Repaired: later acquirers, the restarted module among them, see a plain lock.
  int32_t fresh = Open(*a_);
  EXPECT_EQ(CallValue(*a_, "acquire", fresh), RF_OK);
  EXPECT_EQ(CallValue(*a_, "release", fresh), RF_OK);
  EXPECT_EQ(OutcomeOf(lock_->Acquire(1s)), "acquired");
  EXPECT_TRUE(IsOk(lock_->Release()));
}

// S2: the lock was acquired in one call, the module traps in a later one;
// another module acquires next.
TEST_F(LockModuleTest, ModuleAcquiringNextGetsOwnerDied) {
  int32_t a_handle = Open(*a_);
  int32_t b_handle = Open(*b_);
  ASSERT_EQ(CallValue(*a_, "acquire", a_handle), RF_OK);
  Result<int32_t> trapped = a_->Call<int32_t(int32_t, int32_t)>("divide", 1, 0);
  ASSERT_TRUE(trapped.trapped()) << Describe(trapped);
  EXPECT_EQ(trapped.trap().kind, TrapKind::kDivideByZero);

  EXPECT_EQ(CallValue(*b_, "acquire", b_handle), RF_OWNER_DIED);
  EXPECT_EQ(CallValue(*b_, "mark_consistent", b_handle), RF_OK);
  EXPECT_EQ(CallValue(*b_, "release", b_handle), RF_OK);
  EXPECT_EQ(CallValue(*b_, "acquire", b_handle), RF_OK);
  EXPECT_EQ(CallValue(*b_, "release", b_handle), RF_OK);
  EXPECT_EQ(OutcomeOf(lock_->Acquire(1s)), "acquired");
  EXPECT_TRUE(IsOk(lock_->Release()));
}

// The next owner is already waiting when the holder dies: the death wakes it.
TEST_F(LockModuleTest, WaitingModuleIsWokenByTheHoldersDeath) {
  int32_t a_handle = Open(*a_);
  int32_t b_handle = Open(*b_);
  ASSERT_EQ(CallValue(*a_, "acquire", a_handle), RF_OK);
  std::future<int32_t> waiter = std::async(std::launch::async, [&] {
    int32_t result = CallValue(*b_, "acquire", b_handle);
    if (result == RF_OWNER_DIED) {
      EXPECT_EQ(CallValue(*b_, "mark_consistent", b_handle), RF_OK);
      EXPECT_EQ(CallValue(*b_, "release", b_handle), RF_OK);
    }
    return result;
  });
  ASSERT_TRUE(Eventually([&] { return lock_->has_waiters(); }));
  ASSERT_TRUE(a_->Call<int32_t(int32_t, int32_t)>("divide", 1, 0).trapped());
  if (waiter.wait_for(5s) != std::future_status::ready) {
    ADD_FAILURE() << "the holder's death did not wake the waiting module";
    b_->Kill();  // lets the waiter finish
  }
  EXPECT_EQ(waiter.get(), RF_OWNER_DIED);
  EXPECT_FALSE(lock_->held());
  EXPECT_FALSE(lock_->owner_died());
}

TEST_F(LockModuleTest, WaitingHostThreadIsWokenByTheHoldersDeath) {
  int32_t handle = Open(*a_);
  ASSERT_EQ(CallValue(*a_, "acquire", handle), RF_OK);
  std::future<std::string> waiter = std::async(std::launch::async, [&] {
    std::string outcome = OutcomeOf(lock_->Acquire(10s));
    if (outcome == "owner-died") {
      EXPECT_TRUE(IsOk(lock_->MarkConsistent()));
      EXPECT_TRUE(IsOk(lock_->Release()));
    }
    return outcome;
  });
  ASSERT_TRUE(Eventually([&] { return lock_->has_waiters(); }));
  Clock::time_point died = Clock::now();
  ASSERT_TRUE(a_->Call<int32_t(int32_t, int32_t)>("divide", 1, 0).trapped());
  EXPECT_EQ(waiter.get(), "owner-died");
  EXPECT_LT(Clock::now() - died, 5s);  // woken, not at its own deadline
}

// Killing an idle compartment that holds a lock is a death too.
TEST_F(LockModuleTest, KillingAnIdleHolderPassesTheLockOn) {
  int32_t handle = Open(*a_);
  ASSERT_EQ(CallValue(*a_, "acquire", handle), RF_OK);
  a_->Kill();
  EXPECT_EQ(a_->state(), Compartment::State::kDead);
  EXPECT_FALSE(lock_->held());
  EXPECT_EQ(OutcomeOf(lock_->Acquire(1s)), "owner-died");
  EXPECT_TRUE(IsOk(lock_->MarkConsistent()));
  EXPECT_TRUE(IsOk(lock_->Release()));
}

TEST_F(LockModuleTest, ReleaseWithoutRepairMakesItUnrecoverableForEveryone) {
  int32_t a_handle = Open(*a_);
  int32_t b_handle = Open(*b_);
  ASSERT_TRUE(a_->Call<int32_t(int32_t)>("acquire_then_trap", a_handle).trapped());
  ASSERT_EQ(CallValue(*b_, "acquire", b_handle), RF_OWNER_DIED);
  EXPECT_EQ(CallValue(*b_, "release", b_handle), RF_OK);  // without mark_consistent
  EXPECT_TRUE(lock_->unrecoverable());

  EXPECT_EQ(CallValue(*b_, "acquire", b_handle), RF_EUNRECOVERABLE);
  a_handle = Open(*a_);  // the restarted instance
  EXPECT_EQ(CallValue(*a_, "acquire", a_handle), RF_EUNRECOVERABLE);
  EXPECT_EQ(CallValue(*a_, "mark_consistent", a_handle), RF_ENOTOWNER);
  StatusOr<LockOutcome> host = lock_->Acquire(1s);
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(host.status().message(), AllOf(HasSubstr("'shared'"), HasSubstr("unrecoverable")));
}

// A module waiting for a lock the host holds is woken by Kill(): its call
// returns a Trap of kind killed, and it never got the lock.
TEST_F(LockModuleTest, KillWakesAModuleWaitingForTheLock) {
  int32_t handle = Open(*a_);
  ASSERT_EQ(OutcomeOf(lock_->Acquire()), "acquired");
  std::future<Result<int32_t>> waiter = std::async(std::launch::async, [&] {
    return a_->Call<int32_t(int32_t)>("acquire", handle);
  });
  ASSERT_TRUE(Eventually([&] { return lock_->has_waiters(); }));
  Clock::time_point killed = Clock::now();
  a_->Kill();
  if (waiter.wait_for(5s) != std::future_status::ready) {
    ADD_FAILURE() << "Kill did not wake the waiter";
    ASSERT_TRUE(IsOk(lock_->Release()));  // lets it finish
    ASSERT_TRUE(Eventually([&] { return !lock_->held(); }));
    ASSERT_TRUE(IsOk(lock_->Acquire(1s).status()));
  }
  Result<int32_t> result = waiter.get();
  EXPECT_LT(Clock::now() - killed, 5s);
  ASSERT_TRUE(result.trapped()) << Describe(result);
  EXPECT_EQ(result.trap().kind, TrapKind::kKilled);
  // The host still holds the lock, unmarked; the module comes back fresh.
  EXPECT_TRUE(lock_->BusyFor(Lock::HostOwnerId()));
  EXPECT_FALSE(lock_->owner_died());
  EXPECT_TRUE(IsOk(lock_->Release()));
  int32_t fresh = Open(*a_);
  EXPECT_EQ(CallValue(*a_, "acquire", fresh), RF_OK);
  EXPECT_EQ(CallValue(*a_, "release", fresh), RF_OK);
}

// A module whose call has a deadline (call_timeout) stops waiting when it
// passes: the call is unwound with a Trap of kind timeout (the module never
// sees RF_ETIMEDOUT, and never the lock). Whether the lock's own wait or the
// watchdog notices the deadline first, the outcome is the same. No signal is
// involved, so this runs under TSan too.
TEST_F(LockModuleTest, CallDeadlineUnwindsAModuleWaitWithATimeoutTrap) {
  CompartmentOptions options;
  options.call_timeout = 20ms;
  std::unique_ptr<Compartment> timed = NewCompartment(options);
  ASSERT_EQ(OutcomeOf(lock_->Acquire()), "acquired");
  for (int i = 0; i < 10; ++i) {
    int32_t handle = Open(*timed);
    Clock::time_point start = Clock::now();
    Result<int32_t> result = timed->Call<int32_t(int32_t)>("acquire", handle);
    EXPECT_GE(Clock::now() - start, 20ms);
    EXPECT_LT(Clock::now() - start, 5s);
    ASSERT_TRUE(result.trapped())
        << Describe(result) << (result.ok() ? " " + std::to_string(result.value()) : "");
    EXPECT_EQ(result.trap().kind, TrapKind::kTimeout);
    EXPECT_EQ(timed->state(), Compartment::State::kDead);
    EXPECT_TRUE(lock_->BusyFor(Lock::HostOwnerId()));
  }
  EXPECT_FALSE(lock_->owner_died());
  EXPECT_TRUE(IsOk(lock_->Release()));
  // Within its deadline the module acquires as usual.
  int32_t handle = Open(*timed);
  EXPECT_EQ(CallValue(*timed, "acquire", handle), RF_OK);
  EXPECT_EQ(CallValue(*timed, "release", handle), RF_OK);
}

// ---------------------------------------------------------------------------
// With the data the lock guards in a shared region.

class LockedRecordTest : public LockModuleTest {
 protected:
  struct Record {
    uint32_t first;
    uint32_t second;
  };

  void SetUp() override {
    LockModuleTest::SetUp();
    StatusOr<std::shared_ptr<Region>> region = Region::Create(Region::kGranuleBytes);
    ASSERT_TRUE(region.ok()) << region.status().ToString();
    region_ = *region;
    for (Compartment* compartment : {a_.get(), b_.get()}) {
      ASSERT_TRUE(IsOk(compartment->MapRegion("record", region_, uint64_t{1} << 30)));
    }
  }

  // Region handle in the compartment's live instance.
  int32_t OpenRecord(Compartment& compartment) {
    int32_t handle = CallValue(compartment, "open_record");
    EXPECT_GT(handle, 0);
    return handle;
  }

  Record Read() const {
    Record record;
    std::memcpy(&record, region_->bytes().data(), sizeof record);
    return record;
  }
  void Write(const Record& record) { std::memcpy(region_->bytes().data(), &record, sizeof record); }

  std::shared_ptr<Region> region_;
};

// S2 with real data: the module dies halfway through an update; the next
// owner is told, finds the record torn, repairs it.
TEST_F(LockedRecordTest, NextOwnerFindsTheTornUpdateAndRepairsIt) {
  int32_t a_lock = Open(*a_);
  int32_t a_record = OpenRecord(*a_);
  Result<int32_t> trapped = a_->Call<int32_t(int32_t, int32_t)>("half_update_then_trap", a_lock, a_record);
  ASSERT_TRUE(trapped.trapped()) << Describe(trapped);
  EXPECT_EQ(Read().first, 1u);
  EXPECT_EQ(Read().second, 0u);

  int32_t b_lock = Open(*b_);
  int32_t b_record = OpenRecord(*b_);
  EXPECT_EQ(CallValue(*b_, "acquire_and_check", b_lock, b_record), 10 + RF_OWNER_DIED);
  EXPECT_EQ(CallValue(*b_, "release", b_lock), RF_OK);
  EXPECT_EQ(Read().first, Read().second);
  EXPECT_EQ(CallValue(*b_, "acquire_and_check", b_lock, b_record), RF_OK);
  EXPECT_EQ(CallValue(*b_, "release", b_lock), RF_OK);
}

// Host threads and modules increment one record under the lock with plain
// loads and stores: every increment counts, and the two fields stay equal.
TEST_F(LockedRecordTest, HostThreadsAndModulesShareTheRecord) {
  constexpr int kIncrements = 20000;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        if (!lock_->Acquire(20s).ok()) {
          failures.fetch_add(1);
          return;
        }
        Record record = Read();
        ++record.first;
        ++record.second;
        Write(record);
        if (!lock_->Release().ok()) failures.fetch_add(1);
      }
    });
  }
  for (Compartment* compartment : {a_.get(), b_.get()}) {
    threads.emplace_back([&, compartment] {
      int32_t lock = Open(*compartment);
      int32_t record = OpenRecord(*compartment);
      int32_t result = CallValue(*compartment, "locked_increments", lock, record, kIncrements);
      if (result != RF_OK) {
        ADD_FAILURE() << "locked_increments: " << result;
        failures.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  Record record = Read();
  EXPECT_EQ(record.first, 4u * kIncrements);
  EXPECT_EQ(record.second, 4u * kIncrements);
  EXPECT_FALSE(lock_->held());
}

}  // namespace
}  // namespace ringfence
