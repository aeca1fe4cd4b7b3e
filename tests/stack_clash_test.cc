// Stack clash: module code with native frames far larger than a page,
// recursing on a thread whose stack lies right above another thread's
// stack, with one guard page between them. Each frame's pages are probed
// (-fstack-clash-protection, checked at build), so running out of stack
// touches the guard page first and traps; the other thread's stack is never
// written.
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "ringfence/compartment.h"
#include "src/toolchain/stack_probe_check.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using testing::LoadOrDie;
using testing::TestModulePath;

constexpr size_t kNeighbourStackBytes = 256 * 1024;
constexpr size_t kGuardBytes = 4096;
constexpr size_t kVictimStackBytes = 512 * 1024;
constexpr size_t kCanaryBytes = 192 * 1024;

uint8_t CanaryByte(size_t i) { return static_cast<uint8_t>(0xa5 ^ (i * 131)); }

struct Scene {
  std::shared_ptr<const Module> module;
  std::atomic<bool> canary_ready{false};
  std::atomic<bool> victim_done{false};
  size_t canary_damage = 0;  // bytes of the canary found changed
  bool exhausted = false;
  std::string outcome;
  bool works_after = false;
};

void* Neighbour(void* argument) {
  auto* scene = static_cast<Scene*>(argument);
  volatile uint8_t canary[kCanaryBytes];
  for (size_t i = 0; i < kCanaryBytes; ++i) canary[i] = CanaryByte(i);
  scene->canary_ready.store(true);
  while (!scene->victim_done.load()) usleep(1000);
  for (size_t i = 0; i < kCanaryBytes; ++i) scene->canary_damage += canary[i] != CanaryByte(i);
  return nullptr;
}

void* Victim(void* argument) {
  auto* scene = static_cast<Scene*>(argument);
  while (!scene->canary_ready.load()) usleep(1000);
  {
    StatusOr<std::unique_ptr<Compartment>> compartment = Compartment::Create(scene->module);
    if (compartment.ok()) {
      Result<int64_t> result = (*compartment)->Call<int64_t(int32_t)>("deep", 1 << 30);
      scene->outcome = testing::Describe(result);
      scene->exhausted = result.trapped() && result.trap().kind == TrapKind::kStackExhausted;
      Result<int64_t> small = (*compartment)->Call<int64_t(int32_t)>("deep", 3);
      scene->works_after = small.ok() && small.value() == 7;
    } else {
      scene->outcome = compartment.status().ToString();
    }
  }
  scene->victim_done.store(true);
  return nullptr;
}

pthread_t StartOn(void* stack, size_t bytes, void* (*body)(void*), Scene* scene) {
  pthread_attr_t attributes;
  RF_CHECK(pthread_attr_init(&attributes) == 0);
  RF_CHECK(pthread_attr_setstack(&attributes, stack, bytes) == 0);
  pthread_t thread;
  RF_CHECK(pthread_create(&thread, &attributes, body, scene) == 0);
  pthread_attr_destroy(&attributes);
  return thread;
}

TEST(StackClashTest, WideFramesMeetTheGuardPageNotTheNeighboursStack) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  Scene scene;
  scene.module = LoadOrDie(TestModulePath("wide_frames"));
  // Low to high: the neighbour's stack, one guard page, the victim's stack.
  size_t total = kNeighbourStackBytes + kGuardBytes + kVictimStackBytes;
  void* mapping = mmap(nullptr, total, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  ASSERT_NE(mapping, MAP_FAILED);
  auto* base = static_cast<uint8_t*>(mapping);
  ASSERT_EQ(mprotect(base + kNeighbourStackBytes, kGuardBytes, PROT_NONE), 0);

  pthread_t neighbour = StartOn(base, kNeighbourStackBytes, Neighbour, &scene);
  pthread_t victim =
      StartOn(base + kNeighbourStackBytes + kGuardBytes, kVictimStackBytes, Victim, &scene);
  ASSERT_EQ(pthread_join(victim, nullptr), 0);
  ASSERT_EQ(pthread_join(neighbour, nullptr), 0);
  munmap(mapping, total);

  EXPECT_TRUE(scene.exhausted) << scene.outcome;
  EXPECT_EQ(scene.canary_damage, 0u) << "bytes of the neighbour's stack overwritten";
  EXPECT_TRUE(scene.works_after);
}

// The build refuses native code that lowers the stack pointer by more than
// a page without probing; the same code compiled with probes passes.
class StackProbeCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ringfence-probe-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    std::ofstream(dir_ / "frame.c") << "struct big { long v[8192]; };\n"
                                       "struct big make(int);\n"
                                       "long use(int n) { struct big b = make(n); return b.v[1]; }\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Compile(const std::string& flags) {
    std::string object = (dir_ / "frame.so").string();
    std::string command = "cc -O2 -fPIC -shared " + flags + " " + (dir_ / "frame.c").string() +
                          " -o " + object;
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return object;
  }

  std::filesystem::path dir_;
};

TEST_F(StackProbeCheckTest, RefusesAnUnprobedLargeFrame) {
  Status status = internal::CheckStackProbes(Compile("-fno-stack-clash-protection"));
  EXPECT_EQ(status.code(), StatusCode::kBuildFailed);
  EXPECT_NE(status.message().find("bytes in one step"), std::string::npos)
      << status.ToString();
}

TEST_F(StackProbeCheckTest, AcceptsTheSameFrameProbed) {
  EXPECT_TRUE(testing::IsOk(internal::CheckStackProbes(Compile("-fstack-clash-protection"))));
}

}  // namespace
}  // namespace ringfence
