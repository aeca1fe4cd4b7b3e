// What may be loaded as a process-backend module's code
// (src/module/native_code_check.h), at build time and when the host loads
// a module file: nothing the dynamic loader would run (constructors, IFUNC
// resolvers), no relocation writing outside the object. The worker's own
// check is in worker_test.cc.
#include <elf.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ringfence/internal/module_abi.h"
#include "ringfence/module.h"
#include "ringfence/module_builder.h"
#include "ringfence/module_file.h"
#include "src/base/sha256.h"
#include "src/module/module_file_format.h"
#include "src/module/native_code_check.h"
#include "tests/native_code_samples.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ReadBytes;
using testing::TestModulePath;

// A scratch directory, and the marker file a hostile module would create
// ($RINGFENCE_TEST_MARKER) if any of its code ran.
class NativeCodeCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rf-native-check-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    marker_ = (dir_ / "marker").string();
    setenv("RINGFENCE_TEST_MARKER", marker_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("RINGFENCE_TEST_MARKER");
    std::error_code error;
    fs::remove_all(dir_, error);
  }

  bool MarkerExists() const { return fs::exists(marker_); }

  Status BuildNative(const std::string& source_name) {
    BuildOptions options;
    options.sources = {std::string(RF_SOURCE_DIR) + "/tests/modules/" + source_name};
    options.output = (dir_ / "out.rfm").string();
    options.native = true;
    return BuildModule(options);
  }

  // A module file saying it is process-backend module `ping` with `code`.
  std::vector<uint8_t> PackProcessModule(const std::vector<uint8_t>& code) {
    ModuleDescriptor descriptor;
    descriptor.name = "hostile";
    descriptor.abi_version = RF_MODULE_ABI_VERSION;
    descriptor.isolation = Isolation::kProcess;
    ExportInfo ping;
    ping.name = "ping";
    ping.signature.result = ValueType::kI32;
    descriptor.exports.push_back(ping);
    descriptor.content_hash = internal::Sha256Text(code);  // so the code itself is judged
    return internal::PackModuleFile(descriptor.ToJson(), code);
  }

  fs::path dir_;
  std::string marker_;
};

std::vector<uint8_t> CodeOf(const std::string& module_file) {
  std::vector<uint8_t> file = ReadBytes(module_file);
  auto parts = internal::UnpackModuleFile(file, module_file);
  EXPECT_TRUE(parts.ok()) << parts.status().ToString();
  if (!parts.ok()) return {};
  return std::vector<uint8_t>(parts->code.begin(), parts->code.end());
}

TEST_F(NativeCodeCheckTest, WhatTheToolchainBuildsPasses) {
  for (const char* name : {"calc_native", "lib_native_only_native", "minifs_native"}) {
    std::vector<uint8_t> code = CodeOf(name[0] == 'l' ? TestModulePath(name)
                                                      : testing::ExampleModulePath(name));
    ASSERT_FALSE(code.empty()) << name;
    Status status = internal::CheckNativeCode(code);
    EXPECT_TRUE(status.ok()) << name << ": " << status.ToString();
  }
  Status probe = internal::CheckNativeCode(ReadBytes(RF_WORKER_PROBE_PATH));
  EXPECT_TRUE(probe.ok()) << probe.ToString();
}

TEST_F(NativeCodeCheckTest, BuildRefusesAPointerPlacedInAPriorityInitArraySection) {
  Status status = BuildNative("hostile_init_native_only.c");
  EXPECT_EQ(status.code(), StatusCode::kBuildFailed) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("DT_INIT_ARRAY"));
  EXPECT_FALSE(fs::exists(dir_ / "out.rfm"));
  EXPECT_FALSE(MarkerExists());
}

TEST_F(NativeCodeCheckTest, BuildRefusesAnIfunc) {
  Status status = BuildNative("hostile_ifunc_native_only.c");
  EXPECT_EQ(status.code(), StatusCode::kBuildFailed) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("IFUNC"));
  EXPECT_FALSE(fs::exists(dir_ / "out.rfm"));
  EXPECT_FALSE(MarkerExists());
}

TEST_F(NativeCodeCheckTest, HostRefusesHandMadeModuleFilesWhoseLoadingWouldRunTheirCode) {
  struct Case {
    const char* path;
    const char* reason;
  };
  for (const Case& c : {Case{RF_HOSTILE_INIT_PATH, "DT_INIT"}, Case{RF_HOSTILE_IFUNC_PATH, "IFUNC"}}) {
    SCOPED_TRACE(c.path);
    std::vector<uint8_t> code = ReadBytes(c.path);
    ASSERT_FALSE(code.empty());
    EXPECT_THAT(internal::CheckNativeCode(code).message(), HasSubstr(c.reason));
    StatusOr<std::shared_ptr<const Module>> module =
        Module::LoadFromBytes(PackProcessModule(code), "hostile.rfm");
    ASSERT_FALSE(module.ok());
    EXPECT_EQ(module.status().code(), StatusCode::kNotAModule);
    EXPECT_THAT(module.status().message(), HasSubstr("hostile.rfm: its native code"));
  }
  EXPECT_FALSE(MarkerExists());
  EXPECT_FALSE(fs::exists(RF_HOSTILE_IFUNC_MARKER));
}

TEST_F(NativeCodeCheckTest, ARelocationWritingOutsideTheObjectIsRefused) {
  std::vector<uint8_t> good = CodeOf(testing::ExampleModulePath("calc_native"));
  ASSERT_TRUE(internal::CheckNativeCode(good).ok());
  // Far past the object (where libc or the worker's stack would be), and
  // just before it.
  for (uint64_t target : {uint64_t{0x7f0000000000}, ~uint64_t{0} - 7}) {
    std::vector<uint8_t> patched = testing::WithFirstRelocationAt(good, target);
    ASSERT_FALSE(patched.empty()) << "calc_native has no DT_RELA";
    Status status = internal::CheckNativeCode(patched);
    EXPECT_EQ(status.code(), StatusCode::kNotAModule);
    EXPECT_THAT(status.message(), HasSubstr("writes outside its own writable segments"));
    StatusOr<std::shared_ptr<const Module>> module =
        Module::LoadFromBytes(PackProcessModule(patched), "patched.rfm");
    EXPECT_EQ(module.status().code(), StatusCode::kNotAModule);
  }
}

// Refused by the check, with a message naming `reason`.
void ExpectRefused(const std::vector<uint8_t>& code, const char* reason) {
  ASSERT_FALSE(code.empty());
  Status status = internal::CheckNativeCode(code);
  EXPECT_EQ(status.code(), StatusCode::kNotAModule) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr(reason));
}

// glibc reads each relocation from the mapped object as it applies them:
// with the relocation table in a writable segment, the first relocation
// (an R_X86_64_64 of an absolute symbol writes exactly its addend) turns
// the second into an R_X86_64_IRELATIVE, whose "resolver" runs inside
// dlopen. Every table the loader reads must be in a read-only segment.
TEST_F(NativeCodeCheckTest, RelocationTablesInAWritableSegmentAreRefused) {
  std::vector<uint8_t> good = CodeOf(testing::ExampleModulePath("calc_native"));
  ASSERT_TRUE(internal::CheckNativeCode(good).ok());
  std::optional<uint64_t> rela = testing::DynamicValue(good, DT_RELA);
  ASSERT_TRUE(rela.has_value());
  int segment = testing::LoadHolding(good, *rela);
  ASSERT_GE(segment, 0);
  Elf64_Phdr load = testing::ProgramHeaders(good)[segment];
  ASSERT_EQ(load.p_flags & (PF_W | PF_X), 0u) << "the toolchain's tables are read-only";
  load.p_flags |= PF_W;
  std::vector<uint8_t> patched = testing::WithProgramHeader(good, segment, load);
  size_t first = *testing::FirstRelocationOffset(patched);
  Elf64_Rela rewrite{*rela + sizeof(Elf64_Rela) + offsetof(Elf64_Rela, r_info),
                     ELF64_R_INFO(0, R_X86_64_64), ELF64_R_INFO(0, R_X86_64_IRELATIVE)};
  testing::WriteAt(patched, first, rewrite);
  ExpectRefused(patched, "its read-only segments");
}

// glibc reads DT_SYMTAB from the dynamic section (writable in what the
// toolchain links) at the start of each relocation pass: a DT_RELA
// relocation rewriting it would give the DT_JMPREL pass a symbol table
// never checked (one with an IFUNC, say).
TEST_F(NativeCodeCheckTest, ARelocationIntoTheDynamicSectionIsRefused) {
  std::vector<uint8_t> good = CodeOf(testing::ExampleModulePath("calc_native"));
  std::optional<testing::DynamicEntry> symtab = testing::FindDynamicEntry(good, DT_SYMTAB);
  ASSERT_TRUE(symtab.has_value());
  ExpectRefused(testing::WithFirstRelocationAt(good, symtab->value_vaddr),
                "writes into its dynamic section");
}

// What a symbol lookup reaches is what the hash tables' values say, not
// their counts: DT_GNU_HASH buckets below symoffset make the walk read the
// bucket words as chain words; DT_HASH buckets and chains are followed
// past nchain, or around a loop.
TEST_F(NativeCodeCheckTest, HashTablesReachingUncheckedSymbolsAreRefused) {
  std::vector<uint8_t> good = CodeOf(testing::ExampleModulePath("calc_native"));
  {
    std::optional<size_t> at = testing::DynamicOffset(good, DT_GNU_HASH, /*value_at=*/true);
    ASSERT_TRUE(at.has_value());
    auto buckets = testing::ReadAt<uint32_t>(good, *at);
    auto first = testing::ReadAt<uint32_t>(good, *at + 4);
    auto bloom = testing::ReadAt<uint32_t>(good, *at + 8);
    ASSERT_GT(first, 1u) << "calc_native imports symbols, which come before the hashed ones";
    std::vector<uint8_t> patched = good;
    for (uint32_t b = 0; b < buckets; ++b) {
      size_t bucket = *at + 16 + size_t{bloom} * 8 + size_t{b} * 4;
      if (testing::ReadAt<uint32_t>(patched, bucket) != 0) {
        testing::WriteAt<uint32_t>(patched, bucket, 1);
      }
    }
    ExpectRefused(patched, "DT_GNU_HASH bucket below its first hashed symbol");
  }
  std::optional<size_t> at = testing::DynamicOffset(good, DT_HASH, /*value_at=*/true);
  ASSERT_TRUE(at.has_value()) << "the toolchain emits DT_HASH too";
  auto buckets = testing::ReadAt<uint32_t>(good, *at);
  auto chains = testing::ReadAt<uint32_t>(good, *at + 4);
  ASSERT_GT(chains, 2u);
  size_t last_chain = *at + 8 + (size_t{buckets} + chains - 1) * 4;
  std::vector<uint8_t> past = good;
  testing::WriteAt<uint32_t>(past, last_chain, chains + 1000);
  ExpectRefused(past, "DT_HASH entry naming a symbol past nchain");
  // A bucket's chain that comes back to where it started.
  std::vector<uint8_t> loop = good;
  testing::WriteAt<uint32_t>(loop, *at + 8, chains - 1);
  testing::WriteAt<uint32_t>(loop, last_chain, chains - 1);
  ExpectRefused(loop, "DT_HASH chain that loops");
}

// glibc walks the version needs to vn_next == 0, ignoring DT_VERNEEDNUM,
// and indexes its version array with each DT_VERSYM value.
TEST_F(NativeCodeCheckTest, VersionTablesTheLoaderWalksFurtherThanTheirCountsAreRefused) {
  std::vector<uint8_t> good = CodeOf(testing::ExampleModulePath("calc_native"));
  std::optional<size_t> need = testing::DynamicOffset(good, DT_VERNEED, /*value_at=*/true);
  std::optional<uint64_t> count = testing::DynamicValue(good, DT_VERNEEDNUM);
  ASSERT_TRUE(need.has_value() && count.has_value());
  for (uint64_t i = 1; i < *count; ++i) {
    *need += testing::ReadAt<Elf64_Verneed>(good, *need).vn_next;
  }
  auto last = testing::ReadAt<Elf64_Verneed>(good, *need);
  ASSERT_EQ(last.vn_next, 0u);
  last.vn_next = sizeof(Elf64_Verneed);  // on into bytes never checked
  std::vector<uint8_t> longer = good;
  testing::WriteAt(longer, *need, last);
  ExpectRefused(longer, "links do not end where their counts do");

  std::optional<size_t> versym = testing::DynamicOffset(good, DT_VERSYM, /*value_at=*/true);
  ASSERT_TRUE(versym.has_value());
  std::vector<uint8_t> beyond = good;
  testing::WriteAt<Elf64_Half>(beyond, *versym + sizeof(Elf64_Half), 0x7ff0);
  ExpectRefused(beyond, "DT_VERSYM value naming no version of its own");
}

// The loader mprotects PT_GNU_RELRO's pages before the worker's lockdown,
// and copies PT_TLS's image into every thread: both must be the object's.
TEST_F(NativeCodeCheckTest, RelroAndTlsSegmentsOutsideTheObjectAreRefused) {
  std::vector<uint8_t> good = CodeOf(testing::ExampleModulePath("calc_native"));
  int relro = testing::SegmentOfType(good, PT_GNU_RELRO);
  ASSERT_GE(relro, 0);
  Elf64_Phdr huge = testing::ProgramHeaders(good)[relro];
  huge.p_memsz = uint64_t{1} << 32;  // over libc and the worker
  ExpectRefused(testing::WithProgramHeader(good, relro, huge),
                "PT_GNU_RELRO outside its writable segments");

  int note = testing::SegmentOfType(good, PT_NOTE);
  if (note < 0) note = testing::SegmentOfType(good, PT_GNU_EH_FRAME);
  ASSERT_GE(note, 0);
  Elf64_Phdr tls = testing::ProgramHeaders(good)[note];
  tls.p_type = PT_TLS;
  tls.p_vaddr = 0x7f0000000000;  // an image copied from outside the object
  ExpectRefused(testing::WithProgramHeader(good, note, tls), "PT_TLS image outside");
}

// Counts the loader trusts are checked against what the file can hold
// before anything is walked: a huge DT_VERNEEDNUM is refused at once.
TEST_F(NativeCodeCheckTest, ImpossibleTableCountsAreRefused) {
  std::vector<uint8_t> good = CodeOf(testing::ExampleModulePath("calc_native"));
  for (int64_t tag : {int64_t{DT_VERNEEDNUM}, int64_t{DT_RELASZ}, int64_t{DT_STRSZ}}) {
    std::vector<uint8_t> patched = testing::WithDynamicValue(good, tag, uint64_t{1} << 40);
    ASSERT_FALSE(patched.empty()) << "calc_native has no dynamic tag " << tag;
    EXPECT_EQ(internal::CheckNativeCode(patched).code(), StatusCode::kNotAModule) << tag;
  }
}

// Any prefix of a good object, and any single corrupted byte in its
// headers, gives a Status (never a crash or an out-of-bounds read: the ASan
// build checks the latter).
TEST_F(NativeCodeCheckTest, TruncatedOrCorruptedObjectsGiveAStatus) {
  std::vector<uint8_t> good = CodeOf(testing::ExampleModulePath("calc_native"));
  ASSERT_GT(good.size(), 4096u);
  Elf64_Ehdr header;
  std::memcpy(&header, good.data(), sizeof header);
  size_t headers_end = header.e_phoff + size_t{header.e_phnum} * sizeof(Elf64_Phdr);
  for (size_t size = 0; size < good.size(); size += size < 4096 ? 1 : 997) {
    std::vector<uint8_t> prefix(good.begin(), good.begin() + size);
    Status status = internal::CheckNativeCode(prefix);
    // Past its segments' file bytes an object needs nothing more to load.
    if (size < headers_end) EXPECT_FALSE(status.ok()) << size;
  }
  size_t refused = 0;
  for (size_t at = 0; at < 4096; ++at) {
    for (uint8_t value : {uint8_t{0x00}, uint8_t{0xff}, uint8_t{0x7f}}) {
      std::vector<uint8_t> corrupt = good;
      if (corrupt[at] == value) continue;
      corrupt[at] = value;
      refused += !internal::CheckNativeCode(corrupt).ok();
    }
  }
  EXPECT_GT(refused, 0u);
}

}  // namespace
}  // namespace ringfence
