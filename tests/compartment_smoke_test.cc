#include <gtest/gtest.h>

#include "tests/test_support.h"

namespace ringfence {
namespace {

using testing::CreateOrDie;
using testing::ExampleModulePath;
using testing::LoadOrDie;

TEST(CompartmentSmokeTest, CallsAddAndRecoversFromDivideByZero) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
  Result<int32_t> sum = compartment->Call<int32_t(int32_t, int32_t)>("add", 2, 3);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum.value(), 5);
  Result<int32_t> quotient = compartment->Call<int32_t(int32_t, int32_t)>("divide", 7, 0);
  ASSERT_TRUE(quotient.trapped());
  EXPECT_EQ(quotient.trap().kind, TrapKind::kDivideByZero);
  EXPECT_EQ(compartment->state(), Compartment::State::kDead);
  Result<int32_t> again = compartment->Call<int32_t(int32_t, int32_t)>("add", 40, 2);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), 42);
  EXPECT_EQ(compartment->restart_count(), 1u);
}

}  // namespace
}  // namespace ringfence
