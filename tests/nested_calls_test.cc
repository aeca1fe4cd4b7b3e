// Cross-module calls and unwinding (DESIGN.md S3, S4) and re-entry on one
// thread: lib_frontend imports lib_backend's exports ("backend") and its own
// ("self"); the host links them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "ringfence/deadline.h"
#include "ringfence/log.h"
#include "ringfence/module.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::ringfence::testing::CreateOrDie;
using ::ringfence::testing::LoadOrDie;
using ::ringfence::testing::TestModulePath;
using ::testing::HasSubstr;

class NestedCallsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogSink([this](const LogRecord& record) {
      if (record.message == "frontend resumed") resumed_.fetch_add(1);
    });
    backend_ = CreateOrDie(LoadOrDie(TestModulePath("lib_backend")));
    frontend_ = CreateOrDie(LoadOrDie(TestModulePath("lib_frontend")));
    ASSERT_TRUE(frontend_->LinkModule("backend", *backend_).ok());
    ASSERT_TRUE(frontend_->LinkModule("self", *frontend_).ok());
  }
  void TearDown() override { SetLogSink(nullptr); }

  Result<int32_t> Via(const char* name, int32_t x) {
    return frontend_->Call<int32_t(int32_t)>(name, x);
  }

  std::atomic<int> resumed_{0};
  std::unique_ptr<Compartment> backend_;
  std::unique_ptr<Compartment> frontend_;
};

TEST_F(NestedCallsTest, CallCrossesTwoGates) {
  Result<int32_t> result = Via("via_compute", 21);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value(), 42);
  EXPECT_EQ(backend_->Call<int32_t()>("calls_served").value(), 1);
  EXPECT_EQ(resumed_.load(), 1);
}

// S3: host -> A -> host -> B, B traps: A's import returns an error A handles;
// B restarts; A lives (its state survives).
TEST_F(NestedCallsTest, CalleeTrapIsAnErrorForTheCaller) {
  ASSERT_EQ(frontend_->Call<int32_t()>("bump").value(), 1);
  Result<int32_t> result = Via("via_divide", 7);
  ASSERT_TRUE(result.ok()) << (result.trapped() ? result.trap().ToString() : "");
  EXPECT_EQ(result.value(), -RF_CALL_TRAPPED);
  EXPECT_EQ(resumed_.load(), 1);
  ASSERT_TRUE(backend_->last_trap().has_value());
  EXPECT_EQ(backend_->last_trap()->kind, TrapKind::kDivideByZero);
  EXPECT_EQ(backend_->state(), Compartment::State::kDead);
  EXPECT_EQ(frontend_->Call<int32_t()>("bump").value(), 2);  // A's instance lived
  EXPECT_EQ(Via("via_compute", 5).value(), 10);                // B came back
  EXPECT_EQ(backend_->restart_count(), 1u);
}

TEST_F(NestedCallsTest, UnlinkedImportReportsNotLinked) {
  auto lonely = CreateOrDie(LoadOrDie(TestModulePath("lib_frontend")));
  Result<int32_t> result = lonely->Call<int32_t(int32_t)>("via_compute", 1);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value(), -RF_CALL_NOT_LINKED);
}

TEST_F(NestedCallsTest, LinkChecksNamesAndSignatures) {
  auto other = CreateOrDie(LoadOrDie(TestModulePath("lib_frontend")));
  Status no_import = other->Link("backend", "nonesuch", *backend_, "compute");
  EXPECT_EQ(no_import.code(), StatusCode::kNotFound);
  Status no_export = other->Link("backend", "compute", *backend_, "nonesuch");
  EXPECT_EQ(no_export.code(), StatusCode::kNotFound);
  Status wrong_type = other->Link("backend", "compute", *backend_, "calls_served");
  EXPECT_EQ(wrong_type.code(), StatusCode::kSignatureMismatch);
  EXPECT_THAT(wrong_type.message(), HasSubstr("(i32) -> i32"));
  Status host_service = other->Link("ringfence", "log", *backend_, "compute");
  EXPECT_EQ(host_service.code(), StatusCode::kNotFound);
  EXPECT_EQ(other->LinkModule("nothing", *backend_).code(), StatusCode::kNotFound);
}

TEST_F(NestedCallsTest, ReentryOnTheSameThread) {
  Result<int32_t> result = Via("reenter", 4);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value(), 50);
  EXPECT_EQ(frontend_->restart_count(), 0u);
}

// A trap in the inner frame of host -> A -> host -> A kills A: the outer
// frame unwinds too, with the same trap, without running A's code.
TEST_F(NestedCallsTest, InnerTrapUnwindsOuterFrameOfSameCompartment) {
  ASSERT_EQ(frontend_->Call<int32_t()>("bump").value(), 1);
  Result<int32_t> result = Via("reenter_trap", 4);
  ASSERT_TRUE(result.trapped());
  EXPECT_EQ(result.trap().kind, TrapKind::kDivideByZero);
  EXPECT_EQ(result.trap().export_name, "reenter_trap");
  EXPECT_EQ(resumed_.load(), 0);
  EXPECT_EQ(frontend_->Call<int32_t()>("bump").value(), 1);  // a fresh instance
  EXPECT_EQ(Via("reenter", 1).value(), 20);
}

// S4: A is killed while the thread is inside B called from A. When B
// returns, the thread unwinds to A's entry gate: A's caller gets A's trap,
// and none of A's code runs again; B finished normally.
TEST_F(NestedCallsTest, CallerKilledWhileInCalleeUnwindsOnReturn) {
  std::thread killer([&] {
    // Wait until the thread is inside B's sleep.
    while (backend_->idle()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    frontend_->Kill();
  });
  Result<int32_t> result = Via("via_sleep", 200);
  killer.join();
  ASSERT_TRUE(result.trapped());
  EXPECT_EQ(result.trap().kind, TrapKind::kKilled);
  EXPECT_EQ(result.trap().module, "lib_frontend");
  EXPECT_EQ(resumed_.load(), 0);
  EXPECT_EQ(backend_->state(), Compartment::State::kReady);  // B was not harmed
  EXPECT_EQ(backend_->restart_count(), 0u);
  EXPECT_EQ(Via("via_compute", 3).value(), 6);
}

// A caller and its callee run the same module's code, so the callee's gate
// is code of the caller's module too. Killing the caller over and over while
// its thread keeps crossing into the callee must unwind only the caller: a
// preemption that lands in the callee's gate before it has armed its frame
// (or after it has left it) must not unwind to the caller's frame past the
// callee's call, which would leave the callee entered by nobody, forever busy.
TEST(NestedCallsKillTest, KillingTheCallerNeverStrandsACalleeOfTheSameModule) {
  SetLogSink([](const LogRecord&) {});
  std::shared_ptr<const Module> module = LoadOrDie(TestModulePath("lib_frontend"));
  std::unique_ptr<Compartment> caller = CreateOrDie(module);
  std::unique_ptr<Compartment> callee = CreateOrDie(module);
  ASSERT_TRUE(caller->LinkModule("self", *callee).ok());
  std::atomic<bool> stop = false;
  std::atomic<int> calls = 0, killed = 0;
  std::thread crossing([&] {
    while (!stop) {
      Result<int32_t> result = caller->Call<int32_t(int32_t)>("reenter_many", 1000);
      calls.fetch_add(1);
      if (result.trapped()) killed.fetch_add(1);
    }
  });
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < until) {
    caller->Kill();
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  stop = true;
  crossing.join();
  SetLogSink(nullptr);
  EXPECT_GT(killed.load(), 0) << "the caller was never killed inside a call";
  EXPECT_TRUE(callee->idle());
  DeadlineScope deadline(std::chrono::seconds(2));
  Result<int32_t> leaf = callee->Call<int32_t(int32_t)>("leaf", 1);
  ASSERT_TRUE(leaf.ok()) << (leaf.failed() ? leaf.status().ToString() : leaf.trap().ToString());
  EXPECT_EQ(leaf.value(), 2);
  std::printf("%d calls, %d killed\n", calls.load(), killed.load());
}

TEST_F(NestedCallsTest, KillAnIdleCompartment) {
  ASSERT_EQ(frontend_->Call<int32_t()>("bump").value(), 1);
  frontend_->Kill();
  EXPECT_EQ(frontend_->state(), Compartment::State::kDead);
  ASSERT_TRUE(frontend_->last_trap().has_value());
  EXPECT_EQ(frontend_->last_trap()->kind, TrapKind::kKilled);
  EXPECT_EQ(frontend_->Call<int32_t()>("bump").value(), 1);
}

}  // namespace
}  // namespace ringfence
