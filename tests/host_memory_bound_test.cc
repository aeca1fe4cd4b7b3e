// Host memory a module can make the host allocate is bounded: tables count
// against the compartment's memory limit, and rf_log copies a bounded
// prefix of its message.
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ringfence/compartment.h"
#include "ringfence/log.h"
#include "src/services/services.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::testing::HasSubstr;
using testing::CreateOrDie;
using testing::LoadOrDie;
using testing::TestModulePath;

constexpr int32_t kHugeTable = 1 << 22;  // elements: 96 MiB each
constexpr uint64_t kSlack = uint64_t{64} << 20;

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

CompartmentOptions SmallLimit() {
  CompartmentOptions options;
  options.memory_limit_bytes = uint64_t{1} << 20;
  return options;
}

// Eight declared tables of 96 MiB each cannot start under a 1 MiB limit.
TEST(HostMemoryBoundTest, DeclaredTablesPastTheLimitFailToStart) {
  auto module = LoadOrDie(TestModulePath("table_bomb_declared"));
  uint64_t before = ResidentBytes();
  StatusOr<std::unique_ptr<Compartment>> compartment = Compartment::Create(module, SmallLimit());
  ASSERT_FALSE(compartment.ok());
  EXPECT_EQ(compartment.status().code(), StatusCode::kInstantiateFailed);
  EXPECT_THAT(compartment.status().message(), HasSubstr("memory-limit"));
  EXPECT_LT(ResidentBytes(), before + kSlack);
  // Under a limit that holds them, the same module starts.
  CompartmentOptions roomy;
  roomy.memory_limit_bytes = uint64_t{1} << 30;
  auto started = CreateOrDie(module, roomy);
  Result<int32_t> alive = started->Call<int32_t()>("alive");
  EXPECT_TRUE(alive.ok() && alive.value() == 1) << testing::Describe(alive);
}

// table.grow past the limit returns -1 (and writes nothing); within it, it
// works; a module that dies of the refusal gets a trap that says so; the
// tables' bytes are counted again from zero in the restarted instance.
TEST(HostMemoryBoundTest, TableGrowthPastTheLimitIsRefused) {
  auto compartment = CreateOrDie(LoadOrDie(TestModulePath("table_bomb_grown")), SmallLimit());
  uint64_t before = ResidentBytes();
  Result<int32_t> refused = compartment->Call<int32_t(int32_t)>("grow_all", kHugeTable);
  ASSERT_TRUE(refused.ok()) << testing::Describe(refused);
  EXPECT_EQ(refused.value(), 8);
  EXPECT_LT(ResidentBytes(), before + kSlack);
  // 8 x 1000 elements of 24 bytes fit in 1 MiB.
  Result<int32_t> small = compartment->Call<int32_t(int32_t)>("grow_all", 1000);
  ASSERT_TRUE(small.ok()) << testing::Describe(small);
  EXPECT_EQ(small.value(), 0);

  Result<int32_t> died = compartment->Call<int32_t(int32_t)>("grow_or_trap", kHugeTable);
  ASSERT_TRUE(died.trapped()) << testing::Describe(died);
  EXPECT_EQ(died.trap().kind, TrapKind::kUnreachable);
  EXPECT_TRUE(died.trap().memory_limit_refused.has_value());
  // Ten rounds of 8 x 1000 elements fit only if the dead instance's tables
  // no longer count.
  for (int i = 0; i < 10; ++i) {
    Result<int32_t> again = compartment->Call<int32_t(int32_t)>("grow_all", 400);
    ASSERT_TRUE(again.ok()) << testing::Describe(again);
    EXPECT_EQ(again.value(), 0) << "round " << i;
  }
}

// rf_log with a 64 MiB message: one record, cut to the bound with a marker.
TEST(HostMemoryBoundTest, HugeLogMessageIsCut) {
  size_t longest = 0;
  std::string tail;
  SetLogSink([&](const LogRecord& record) {
    if (record.message.size() > longest) {
      longest = record.message.size();
      tail = std::string(record.message.substr(record.message.size() > 64
                                                   ? record.message.size() - 64
                                                   : 0));
    }
  });
  auto compartment = CreateOrDie(LoadOrDie(TestModulePath("lib_chatty")));
  Result<int32_t> logged = compartment->Call<int32_t(uint32_t)>("log_huge", 64u << 20);
  SetLogSink(nullptr);
  ASSERT_TRUE(logged.ok() && logged.value() == 1) << testing::Describe(logged);
  EXPECT_GE(longest, internal::kMaxModuleLogBytes);
  EXPECT_LT(longest, internal::kMaxModuleLogBytes + 64);
  EXPECT_THAT(tail, HasSubstr("more bytes cut"));
}

}  // namespace
}  // namespace ringfence
