// Shared memory regions: host and modules see the same bytes, in several
// compartments at different offsets; contents and mappings survive traps and
// restarts; a region outlives its compartments; MapRegion and the region
// services refuse bad arguments; an access next to a region traps; creating
// and dropping regions leaks nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ringfence/compartment.h"
#include "ringfence/module.h"
#include "ringfence/region.h"
#include "tests/process_figures.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::testing::HasSubstr;
using testing::CreateOrDie;
using testing::Describe;
using testing::IsOk;
using testing::LoadOrDie;
using testing::OpenFileDescriptors;
using testing::VirtualBytes;
using testing::TestModulePath;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = kKiB << 10;
constexpr uint64_t kGiB = kMiB << 10;

std::shared_ptr<const Module> RegionsModule() {
  static const std::shared_ptr<const Module> module = LoadOrDie(TestModulePath("lib_regions"));
  return module;
}

std::shared_ptr<Region> CreateRegionOrDie(uint64_t size) {
  StatusOr<std::shared_ptr<Region>> region = Region::Create(size);
  if (!region.ok()) ADD_FAILURE() << region.status().ToString();
  RF_CHECK(region.ok());
  return *region;
}

// Calls an int32_t export of lib_regions that must return; INT32_MIN (and a
// test failure) if it trapped or could not run.
template <typename... A>
int32_t Call32(Compartment& compartment, std::string_view name, A... args) {
  static_assert((std::is_same_v<A, int32_t> && ...), "lib_regions takes int32_t arguments");
  Result<int32_t> result = compartment.Call<int32_t(A...)>(name, args...);
  EXPECT_TRUE(result.ok()) << name << ": " << Describe(result);
  return result.ok() ? result.value() : INT32_MIN;
}

// The module opens the region the host provided as `name`: a handle or RF_E*.
int32_t OpenRegion(Compartment& compartment, std::string_view name) {
  int32_t buffer = Call32(compartment, "name_buffer");
  Status copied = compartment.window().CopyIn(static_cast<uint64_t>(buffer), name);
  EXPECT_TRUE(IsOk(copied));
  return Call32(compartment, "open_name", static_cast<int32_t>(name.size()));
}

int32_t Offset(Compartment& compartment, int32_t handle) {
  return Call32(compartment, "offset", handle);
}
int32_t Size(Compartment& compartment, int32_t handle) {
  return Call32(compartment, "size", handle);
}
int32_t ReadByte(Compartment& compartment, int32_t handle, uint64_t index) {
  return Call32(compartment, "read_byte", handle, static_cast<int32_t>(index));
}
void WriteByte(Compartment& compartment, int32_t handle, uint64_t index, uint8_t value) {
  Result<void> result = compartment.Call<void(int32_t, int32_t, int32_t)>(
      "write_byte", handle, static_cast<int32_t>(index), int32_t{value});
  EXPECT_TRUE(result.ok()) << Describe(result);
}
void Fill(Compartment& compartment, int32_t handle, uint64_t count, int32_t seed) {
  Result<void> result = compartment.Call<void(int32_t, int32_t, int32_t)>(
      "fill", handle, static_cast<int32_t>(count), seed);
  EXPECT_TRUE(result.ok()) << Describe(result);
}
int32_t CountMatching(Compartment& compartment, int32_t handle, uint64_t count, int32_t seed) {
  return Call32(compartment, "count_matching", handle, static_cast<int32_t>(count), seed);
}

// What rf_region_offset / rf_region_size return for `value`: its uint32 bits.
int32_t AsResult(uint64_t value) { return static_cast<int32_t>(static_cast<uint32_t>(value)); }

// Bytes [0, count) of `bytes` hold the pattern fill() writes.
bool HoldsPattern(std::span<const uint8_t> bytes, uint64_t count, int32_t seed) {
  for (uint64_t i = 0; i < count; ++i) {
    if (bytes[i] != static_cast<uint8_t>(seed + static_cast<int32_t>(i))) return false;
  }
  return true;
}


// ---------------------------------------------------------------------------
// Region itself.

TEST(RegionTest, CreateRoundsUpTo64KiBAndStartsZeroed) {
  std::shared_ptr<Region> one = CreateRegionOrDie(1);
  EXPECT_EQ(one->size(), 64 * kKiB);
  ASSERT_EQ(one->bytes().size(), 64 * kKiB);
  for (uint8_t byte : one->bytes()) ASSERT_EQ(byte, 0);

  EXPECT_EQ(CreateRegionOrDie(64 * kKiB)->size(), 64 * kKiB);
  EXPECT_EQ(CreateRegionOrDie(64 * kKiB + 1)->size(), 128 * kKiB);
  // The largest region (pages are only allocated when touched).
  std::shared_ptr<Region> largest = CreateRegionOrDie(Region::kMaxBytes);
  EXPECT_EQ(largest->size(), 4 * kGiB - 64 * kKiB);
  largest->bytes().back() = 7;
  EXPECT_EQ(largest->bytes().back(), 7);
}

TEST(RegionTest, CreateRefusesZeroAndOversizedRegions) {
  for (uint64_t size : {uint64_t{0}, Region::kMaxBytes + 1, 4 * kGiB, UINT64_MAX}) {
    StatusOr<std::shared_ptr<Region>> region = Region::Create(size);
    ASSERT_FALSE(region.ok()) << size;
    EXPECT_EQ(region.status().code(), StatusCode::kInvalidArgument) << size;
    EXPECT_THAT(region.status().message(), HasSubstr("4 GiB - 64 KiB")) << size;
  }
}

// ---------------------------------------------------------------------------
// Host and module share the bytes.

TEST(RegionTest, ModuleReadsWhatTheHostWrote) {
  std::shared_ptr<Region> region = CreateRegionOrDie(100 * kKiB);
  ASSERT_EQ(region->size(), 128 * kKiB);
  std::unique_ptr<Compartment> compartment = CreateOrDie(RegionsModule());
  ASSERT_TRUE(IsOk(compartment->MapRegion("shared", region, 1 * kGiB)));

  std::span<uint8_t> bytes = region->bytes();
  bytes[0] = 0x11;
  bytes[70000] = 0x22;
  bytes[bytes.size() - 1] = 0x33;

  int32_t handle = OpenRegion(*compartment, "shared");
  ASSERT_GT(handle, 0);
  EXPECT_EQ(Offset(*compartment, handle), AsResult(1 * kGiB));
  EXPECT_EQ(Size(*compartment, handle), AsResult(128 * kKiB));
  EXPECT_EQ(ReadByte(*compartment, handle, 0), 0x11);
  EXPECT_EQ(ReadByte(*compartment, handle, 70000), 0x22);
  EXPECT_EQ(ReadByte(*compartment, handle, bytes.size() - 1), 0x33);
  EXPECT_EQ(ReadByte(*compartment, handle, 1), 0);

  // Later host writes are seen at once, through the same handle.
  for (uint64_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(40 + i);
  EXPECT_EQ(CountMatching(*compartment, handle, bytes.size(), 40), AsResult(bytes.size()));
}

TEST(RegionTest, HostReadsWhatTheModuleWrote) {
  std::shared_ptr<Region> region = CreateRegionOrDie(64 * kKiB);
  std::unique_ptr<Compartment> compartment = CreateOrDie(RegionsModule());
  ASSERT_TRUE(IsOk(compartment->MapRegion("shared", region, 512 * kMiB)));
  int32_t handle = OpenRegion(*compartment, "shared");
  ASSERT_GT(handle, 0);

  Fill(*compartment, handle, region->size(), 5);
  EXPECT_TRUE(HoldsPattern(region->bytes(), region->size(), 5));
  WriteByte(*compartment, handle, 12345, 0xab);
  EXPECT_EQ(region->bytes()[12345], 0xab);
}

// One region in two compartments at different offsets, one of them above
// 2 GiB (its offset reads as a negative int32 in the module) and one ending
// exactly at 4 GiB.
TEST(RegionTest, TwoCompartmentsAtDifferentOffsetsShareTheBytes) {
  std::shared_ptr<Region> region = CreateRegionOrDie(64 * kKiB);
  std::unique_ptr<Compartment> low = CreateOrDie(RegionsModule());
  std::unique_ptr<Compartment> high = CreateOrDie(RegionsModule());
  const uint64_t high_offset = 4 * kGiB - 64 * kKiB;
  ASSERT_TRUE(IsOk(low->MapRegion("shared", region, 1 * kGiB)));
  ASSERT_TRUE(IsOk(high->MapRegion("also-shared", region, high_offset)));

  int32_t low_handle = OpenRegion(*low, "shared");
  int32_t high_handle = OpenRegion(*high, "also-shared");
  ASSERT_GT(low_handle, 0);
  ASSERT_GT(high_handle, 0);
  EXPECT_EQ(Offset(*low, low_handle), AsResult(1 * kGiB));
  EXPECT_EQ(Offset(*high, high_handle), AsResult(high_offset));
  EXPECT_EQ(Offset(*high, high_handle), -65536) << "uint32 bits of 4 GiB - 64 KiB";

  Fill(*low, low_handle, region->size(), 9);
  EXPECT_EQ(CountMatching(*high, high_handle, region->size(), 9), AsResult(region->size()));
  WriteByte(*high, high_handle, region->size() - 1, 0xee);
  EXPECT_EQ(ReadByte(*low, low_handle, region->size() - 1), 0xee);
  EXPECT_EQ(region->bytes()[region->size() - 1], 0xee);
}

// A region of almost 4 GiB fills the window from the memory limit (2 MiB:
// the module's initial memory is 17 pages) to 4 GiB; its size reads as a
// negative int32 in the module.
TEST(RegionTest, RegionCanReachTheTopOfTheWindow) {
  const uint64_t limit = 2 * kMiB;
  std::shared_ptr<Region> region = CreateRegionOrDie(4 * kGiB - limit);
  CompartmentOptions options;
  options.memory_limit_bytes = limit;
  std::unique_ptr<Compartment> compartment = CreateOrDie(RegionsModule(), options);
  ASSERT_TRUE(IsOk(compartment->MapRegion("all", region, limit)));
  int32_t handle = OpenRegion(*compartment, "all");
  ASSERT_GT(handle, 0);
  EXPECT_EQ(Offset(*compartment, handle), AsResult(limit));
  EXPECT_EQ(Size(*compartment, handle), AsResult(4 * kGiB - limit));
  EXPECT_LT(Size(*compartment, handle), 0) << "uint32 bits of a size above 2 GiB";
  region->bytes().back() = 0x5c;
  EXPECT_EQ(ReadByte(*compartment, handle, region->size() - 1), 0x5c);
  WriteByte(*compartment, handle, 0, 0x5d);
  EXPECT_EQ(region->bytes().front(), 0x5d);
}

// ---------------------------------------------------------------------------
// Lifetime: restarts, compartment destruction.

TEST(RegionTest, ContentsAndMappingSurviveTrapAndRestart) {
  std::shared_ptr<Region> region = CreateRegionOrDie(64 * kKiB);
  std::unique_ptr<Compartment> compartment = CreateOrDie(RegionsModule());
  ASSERT_TRUE(IsOk(compartment->MapRegion("shared", region, 1 * kGiB)));
  int32_t handle = OpenRegion(*compartment, "shared");
  ASSERT_GT(handle, 0);
  EXPECT_EQ(Call32(*compartment, "bump"), 1);

  Result<void> trapped = compartment->Call<void(int32_t, int32_t, int32_t)>(
      "write_then_trap", handle, 5, 0x5a);
  ASSERT_TRUE(trapped.trapped()) << Describe(trapped);
  EXPECT_EQ(trapped.trap().kind, TrapKind::kUnreachable);
  EXPECT_EQ(region->bytes()[5], 0x5a) << "the dead instance's write stays";

  // The next call runs on a fresh instance: the module's own memory is reset,
  // its handles are gone, the region is still mapped with the write in it.
  EXPECT_EQ(Offset(*compartment, handle), RF_EBADHANDLE);
  EXPECT_EQ(compartment->restart_count(), 1u);
  EXPECT_EQ(Call32(*compartment, "bump"), 1);
  int32_t new_handle = OpenRegion(*compartment, "shared");
  ASSERT_GT(new_handle, 0);
  EXPECT_NE(new_handle, handle);
  EXPECT_EQ(Offset(*compartment, handle), RF_EBADHANDLE) << "a dead instance's handle stays stale";
  EXPECT_EQ(Offset(*compartment, new_handle), AsResult(1 * kGiB));
  EXPECT_EQ(ReadByte(*compartment, new_handle, 5), 0x5a);

  // An explicit restart keeps it too.
  Fill(*compartment, new_handle, region->size(), 3);
  ASSERT_TRUE(IsOk(compartment->Restart()));
  int32_t third_handle = OpenRegion(*compartment, "shared");
  ASSERT_GT(third_handle, 0);
  EXPECT_EQ(CountMatching(*compartment, third_handle, region->size(), 3), AsResult(region->size()));
  EXPECT_TRUE(HoldsPattern(region->bytes(), region->size(), 3));
}

TEST(RegionTest, RegionOutlivesTheCompartments) {
  std::shared_ptr<Region> region = CreateRegionOrDie(64 * kKiB);
  {
    std::unique_ptr<Compartment> compartment = CreateOrDie(RegionsModule());
    ASSERT_TRUE(IsOk(compartment->MapRegion("shared", region, 1 * kGiB)));
    EXPECT_EQ(region.use_count(), 2) << "the compartment shares ownership";
    int32_t handle = OpenRegion(*compartment, "shared");
    ASSERT_GT(handle, 0);
    Fill(*compartment, handle, region->size(), 21);
  }
  EXPECT_EQ(region.use_count(), 1) << "the destroyed compartment let go";
  EXPECT_TRUE(HoldsPattern(region->bytes(), region->size(), 21));

  std::unique_ptr<Compartment> next = CreateOrDie(RegionsModule());
  ASSERT_TRUE(IsOk(next->MapRegion("shared", region, 2 * kGiB)));
  int32_t handle = OpenRegion(*next, "shared");
  ASSERT_GT(handle, 0);
  EXPECT_EQ(CountMatching(*next, handle, region->size(), 21), AsResult(region->size()));

  // A region the host no longer holds lives as long as a compartment maps it.
  std::weak_ptr<Region> dropped;
  {
    std::shared_ptr<Region> only_mapped = CreateRegionOrDie(64 * kKiB);
    dropped = only_mapped;
    ASSERT_TRUE(IsOk(next->MapRegion("only-mapped", std::move(only_mapped), 3 * kGiB)));
  }
  ASSERT_FALSE(dropped.expired());
  int32_t only_handle = OpenRegion(*next, "only-mapped");
  ASSERT_GT(only_handle, 0);
  WriteByte(*next, only_handle, 7, 0x77);
  EXPECT_EQ(ReadByte(*next, only_handle, 7), 0x77);
  EXPECT_EQ(dropped.lock()->bytes()[7], 0x77);
  next.reset();
  EXPECT_TRUE(dropped.expired());
}

// ---------------------------------------------------------------------------
// MapRegion's checks.

TEST(RegionTest, MapRegionRefusesBadArgumentsAndSaysWhy) {
  CompartmentOptions options;
  options.memory_limit_bytes = 16 * kMiB;
  std::unique_ptr<Compartment> compartment = CreateOrDie(RegionsModule(), options);
  std::shared_ptr<Region> first = CreateRegionOrDie(128 * kKiB);
  ASSERT_TRUE(IsOk(compartment->MapRegion("first", first, 1 * kGiB)));
  std::shared_ptr<Region> region = CreateRegionOrDie(128 * kKiB);
  std::shared_ptr<Region> big = CreateRegionOrDie(1 * kMiB);

  struct Case {
    std::string name;
    std::shared_ptr<Region> region;
    uint64_t offset;
    const char* message;  // part of what it must say
  };
  const Case cases[] = {
      {"", region, 2 * kGiB, "non-empty name"},
      {"first", region, 2 * kGiB, "already provided"},
      {"null", nullptr, 2 * kGiB, "no region given"},
      {"misaligned", region, 2 * kGiB + 4096, "not a multiple of 64 KiB"},
      {"odd", region, 2 * kGiB + 1, "not a multiple of 64 KiB"},
      {"zero", region, 0, "below the memory limit 0x1000000"},
      {"below-limit", region, 16 * kMiB - 64 * kKiB, "below the memory limit"},
      {"straddles-4g", region, 4 * kGiB - 64 * kKiB, "ends past 4 GiB"},
      {"at-4g", region, 4 * kGiB, "ends past 4 GiB"},
      {"far-past", region, 8 * kGiB, "ends past 4 GiB"},
      {"wraps", region, UINT64_MAX - 0xffff, "ends past 4 GiB"},
      {"overlaps-start", region, 1 * kGiB - 64 * kKiB, "overlaps region 'first'"},
      {"overlaps-end", region, 1 * kGiB + 64 * kKiB, "overlaps region 'first'"},
      {"same-place", region, 1 * kGiB, "overlaps region 'first'"},
      {"contains", big, 1 * kGiB - 512 * kKiB, "overlaps region 'first'"},
  };
  const long references = region.use_count();  // ours and the cases'
  for (const Case& c : cases) {
    SCOPED_TRACE("case " + c.name);
    Status status = compartment->MapRegion(c.name, c.region, c.offset);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
    EXPECT_THAT(status.message(), HasSubstr(c.message));
    if (!c.name.empty() && c.name != "first") {
      EXPECT_EQ(OpenRegion(*compartment, c.name), RF_ENOTFOUND) << "nothing was provided";
    }
  }
  EXPECT_EQ(region.use_count(), references) << "refused calls keep no reference";

  // The edges are allowed: at the memory limit, right after another region,
  // ending at 4 GiB; and the same region twice (two views of the same bytes).
  ASSERT_TRUE(IsOk(compartment->MapRegion("at-limit", region, 16 * kMiB)));
  ASSERT_TRUE(IsOk(compartment->MapRegion("adjacent", region, 1 * kGiB + 128 * kKiB)));
  ASSERT_TRUE(IsOk(compartment->MapRegion("top", CreateRegionOrDie(128 * kKiB),
                                          4 * kGiB - 128 * kKiB)));
  int32_t at_limit = OpenRegion(*compartment, "at-limit");
  int32_t adjacent = OpenRegion(*compartment, "adjacent");
  int32_t top = OpenRegion(*compartment, "top");
  EXPECT_EQ(Offset(*compartment, at_limit), AsResult(16 * kMiB));
  EXPECT_EQ(Offset(*compartment, adjacent), AsResult(1 * kGiB + 128 * kKiB));
  EXPECT_EQ(Offset(*compartment, top), AsResult(4 * kGiB - 128 * kKiB));
  WriteByte(*compartment, at_limit, 100, 0x42);
  EXPECT_EQ(ReadByte(*compartment, adjacent, 100), 0x42);
  WriteByte(*compartment, top, 128 * kKiB - 1, 0x43);
  EXPECT_EQ(ReadByte(*compartment, top, 128 * kKiB - 1), 0x43);
}

// ---------------------------------------------------------------------------
// The region services' errors.

TEST(RegionTest, RegionServicesRefuseBadNamesAndHandles) {
  std::shared_ptr<Region> region = CreateRegionOrDie(64 * kKiB);
  std::unique_ptr<Compartment> compartment = CreateOrDie(RegionsModule());
  ASSERT_TRUE(IsOk(compartment->MapRegion("shared", region, 1 * kGiB)));

  EXPECT_EQ(OpenRegion(*compartment, "missing"), RF_ENOTFOUND);
  EXPECT_EQ(OpenRegion(*compartment, "share"), RF_ENOTFOUND);
  EXPECT_EQ(OpenRegion(*compartment, "shared!"), RF_ENOTFOUND);

  // Name pointers outside the module's memory: past its end, wrapping, and
  // inside the region (names are read from the module's own memory only).
  int32_t outside = static_cast<int32_t>(0xfffffff0u);
  EXPECT_EQ(Call32(*compartment, "open_raw", outside, 6), RF_EFAULT);
  EXPECT_EQ(Call32(*compartment, "open_raw", outside, 64), RF_EFAULT);
  region->bytes()[0] = 's';
  EXPECT_EQ(Call32(*compartment, "open_raw", AsResult(1 * kGiB), 1), RF_EFAULT);

  // Forged handles.
  for (int32_t forged : {0, -1, 1, 12345, INT32_MAX, INT32_MIN}) {
    EXPECT_EQ(Offset(*compartment, forged), RF_EBADHANDLE) << forged;
    EXPECT_EQ(Size(*compartment, forged), RF_EBADHANDLE) << forged;
  }
  int32_t handle = OpenRegion(*compartment, "shared");
  ASSERT_GT(handle, 0);
  for (int32_t forged : {handle + 1, handle ^ (1 << 12), handle ^ (1 << 20)}) {
    EXPECT_EQ(Offset(*compartment, forged), RF_EBADHANDLE) << forged;
  }
  EXPECT_EQ(Offset(*compartment, handle), AsResult(1 * kGiB));

  // Closed handles.
  EXPECT_EQ(Call32(*compartment, "close_handle", handle), RF_OK);
  EXPECT_EQ(Offset(*compartment, handle), RF_EBADHANDLE);
  EXPECT_EQ(Size(*compartment, handle), RF_EBADHANDLE);
  EXPECT_EQ(Call32(*compartment, "close_handle", handle), RF_EBADHANDLE);
  EXPECT_EQ(compartment->open_handles(), 0u);
  EXPECT_GT(OpenRegion(*compartment, "shared"), 0) << "it can be opened again";
}

// ---------------------------------------------------------------------------
// Faults next to a region.

TEST(RegionTest, AccessJustOutsideTheRegionTrapsAndTheHostIsFine) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  std::shared_ptr<Region> region = CreateRegionOrDie(64 * kKiB);
  std::unique_ptr<Compartment> compartment = CreateOrDie(RegionsModule());
  const uint64_t offset = 1 * kGiB;
  ASSERT_TRUE(IsOk(compartment->MapRegion("shared", region, offset)));
  region->bytes().back() = 0x99;

  for (uint64_t address : {offset + region->size(), offset - 1}) {
    SCOPED_TRACE(address);
    Result<int32_t> result = compartment->Call<int32_t(int32_t)>("load_at", AsResult(address));
    ASSERT_TRUE(result.trapped()) << Describe(result);
    EXPECT_EQ(result.trap().kind, TrapKind::kOutOfBounds);
    EXPECT_EQ(result.trap().offset, address);
  }
  // The region's last byte is fine, and so is everything after the traps.
  EXPECT_EQ(Call32(*compartment, "load_at", AsResult(offset + region->size() - 1)), 0x99);
  int32_t handle = OpenRegion(*compartment, "shared");
  ASSERT_GT(handle, 0);
  EXPECT_EQ(ReadByte(*compartment, handle, region->size() - 1), 0x99);
  EXPECT_EQ(region->bytes().back(), 0x99);
}

// ---------------------------------------------------------------------------
// Leaks (invariant 7).

TEST(RegionTest, CreatingAndDroppingRegionsLeaksNoDescriptorsOrMappings) {
  // The module (loaded once, kept for the process) holds a descriptor; a
  // first compartment may start process-wide helpers. Both before counting.
  CreateOrDie(RegionsModule()).reset();
  const int fds_before = OpenFileDescriptors();
  const int64_t address_space_before = VirtualBytes();
  for (int i = 0; i < 1000; ++i) {
    std::shared_ptr<Region> region = CreateRegionOrDie(1 * kMiB);
    region->bytes()[static_cast<size_t>(i)] = 1;
  }
  EXPECT_EQ(OpenFileDescriptors(), fds_before);
  // 1000 leaked mappings would be 1000 MiB.
  EXPECT_LT(VirtualBytes() - address_space_before, int64_t{256 << 20});

  // Mapped into compartments, across traps and restarts.
  for (int round = 0; round < 20; ++round) {
    std::shared_ptr<Region> region = CreateRegionOrDie(64 * kKiB);
    std::unique_ptr<Compartment> compartment = CreateOrDie(RegionsModule());
    ASSERT_TRUE(IsOk(compartment->MapRegion("shared", region, 1 * kGiB)));
    for (int restart = 0; restart < 10; ++restart) {
      int32_t handle = OpenRegion(*compartment, "shared");
      ASSERT_GT(handle, 0);
      Result<void> result = compartment->Call<void(int32_t, int32_t, int32_t)>(
          "write_then_trap", handle, restart, 1);
      ASSERT_TRUE(result.trapped()) << Describe(result);
    }
  }
  EXPECT_EQ(OpenFileDescriptors(), fds_before);
}

}  // namespace
}  // namespace ringfence
