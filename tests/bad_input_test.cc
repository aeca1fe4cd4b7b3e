// Module::Load refuses every kind of bad module file with a Status that says
// what is wrong - never a crash. The files are mutated copies of the real
// calc module, so each refusal is caused by the one thing changed (a control
// test loads the unmutated parts).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ringfence/compartment.h"
#include "ringfence/internal/module_abi.h"
#include "ringfence/module_file.h"
#include "src/base/sha256.h"
#include "src/module/module_file_format.h"
#include "src/module/module_file_reader.h"
#include "tests/cli_runner.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::testing::HasSubstr;
using testing::ExampleModulePath;

using Bytes = std::vector<uint8_t>;

using testing::ReadBytes;

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { calc_ = new Bytes(ReadBytes(ExampleModulePath("calc"))); }
  static void TearDownTestSuite() {
    delete calc_;
    calc_ = nullptr;
  }

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ringfence-bad-input-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `bytes` to a file in the test's directory; returns its path.
  std::string WriteFile(const std::string& name, const Bytes& bytes) {
    std::string path = (dir_ / name).string();
    std::ofstream file(path, std::ios::binary);
    file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    RF_CHECK(file);
    return path;
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    return WriteFile(name, Bytes(text.begin(), text.end()));
  }

  static Status LoadStatus(const std::string& path) { return Module::Load(path).status(); }

  // The real calc file's parts.
  static std::string CalcDescriptorJson() {
    auto parts = internal::UnpackModuleFile(*calc_, "calc").value();
    return std::string(parts.descriptor_json);
  }
  static Bytes CalcCode() {
    auto parts = internal::UnpackModuleFile(*calc_, "calc").value();
    return Bytes(parts.code.begin(), parts.code.end());
  }
  static ModuleDescriptor CalcDescriptor() {
    return ModuleDescriptor::FromJson(CalcDescriptorJson()).value();
  }
  // A correctly packed file around calc's code with `descriptor_json`.
  std::string PackWithDescriptor(const std::string& name, const std::string& descriptor_json) {
    return WriteFile(name, internal::PackModuleFile(descriptor_json, CalcCode()));
  }

  static Bytes* calc_;
  std::filesystem::path dir_;
};

Bytes* BadInputTest::calc_ = nullptr;

TEST_F(BadInputTest, ControlRepackedCalcLoadsAndRuns) {
  std::string path = PackWithDescriptor("calc.rfm", CalcDescriptorJson());
  StatusOr<std::shared_ptr<const Module>> module = Module::Load(path);
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  auto compartment = Compartment::Create(*module).value();
  EXPECT_EQ(compartment->Call<int32_t(int32_t, int32_t)>("add", 2, 3).value(), 5);
  // Re-serialised through ModuleDescriptor, too.
  std::string reserialised = PackWithDescriptor("calc2.rfm", CalcDescriptor().ToJson());
  EXPECT_TRUE(Module::Load(reserialised).ok());
}

TEST_F(BadInputTest, MissingFileIsAnIoError) {
  std::string path = (dir_ / "no-such-module.rfm").string();
  Status status = LoadStatus(path);
  EXPECT_EQ(status.code(), StatusCode::kIoError) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr(path));
}

// A path that opens but is no regular file (reading a directory through a
// stream throws in libstdc++) is an I/O error too.
TEST_F(BadInputTest, DirectoryIsAnIoError) {
  StatusOr<std::shared_ptr<const Module>> module = Module::Load(dir_.string());
  ASSERT_FALSE(module.ok());
  EXPECT_EQ(module.status().code(), StatusCode::kIoError) << module.status().ToString();
  EXPECT_THAT(module.status().message(), HasSubstr(dir_.string()));
}

TEST_F(BadInputTest, TextFileIsNotAModule) {
  std::string path = WriteFile("notes.txt", std::string("This is a text file, not a module.\n"));
  Status status = LoadStatus(path);
  EXPECT_EQ(status.code(), StatusCode::kNotAModule) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("not a ringfence module"));
  EXPECT_THAT(status.message(), HasSubstr(path));
}

TEST_F(BadInputTest, EmptyFileIsNotAModule) {
  Status status = LoadStatus(WriteFile("empty.rfm", Bytes()));
  EXPECT_EQ(status.code(), StatusCode::kNotAModule) << status.ToString();
}

TEST_F(BadInputTest, TruncatedFilesAreRefused) {
  const size_t size = calc_->size();
  const size_t descriptor_length = CalcDescriptorJson().size();
  const size_t kLengths[] = {
      12,                                                // inside the header
      internal::kModuleHeaderBytes - 1,                  // header's last byte missing
      internal::kModuleHeaderBytes,                      // header only
      internal::kModuleHeaderBytes + descriptor_length / 2,  // middle of the descriptor
      size / 2,                                          // middle of the code
      size - 1,                                          // last byte missing
  };
  for (size_t length : kLengths) {
    SCOPED_TRACE("truncated to " + std::to_string(length) + " of " + std::to_string(size));
    Bytes truncated(calc_->begin(), calc_->begin() + static_cast<ptrdiff_t>(length));
    Status status = LoadStatus(WriteFile("truncated.rfm", truncated));
    EXPECT_EQ(status.code(), StatusCode::kNotAModule) << status.ToString();
    EXPECT_THAT(status.message(), HasSubstr("truncated"));
  }
}

TEST_F(BadInputTest, TrailingDataIsRefused) {
  Bytes longer = *calc_;
  longer.push_back(0);
  Status status = LoadStatus(WriteFile("longer.rfm", longer));
  EXPECT_EQ(status.code(), StatusCode::kNotAModule) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("trailing"));
}

TEST_F(BadInputTest, OtherAbiVersionIsAnAbiMismatch) {
  for (uint8_t version : {uint8_t{0}, uint8_t{RF_MODULE_ABI_VERSION - 1},
                          uint8_t{RF_MODULE_ABI_VERSION + 1}, uint8_t{0xff}}) {
    Bytes changed = *calc_;
    changed[8] = version;
    Status status = LoadStatus(WriteFile("abi.rfm", changed));
    EXPECT_EQ(status.code(), StatusCode::kAbiMismatch) << status.ToString();
    EXPECT_THAT(status.message(), HasSubstr("version " + std::to_string(version)));
  }
  // A high byte of the version counts too.
  Bytes changed = *calc_;
  changed[11] = 1;
  EXPECT_EQ(LoadStatus(WriteFile("abi-high.rfm", changed)).code(), StatusCode::kAbiMismatch);
}

// The file header and the descriptor agree on the ABI; a descriptor that says
// otherwise is refused as well.
TEST_F(BadInputTest, DescriptorWithOtherAbiVersionIsAnAbiMismatch) {
  ModuleDescriptor descriptor = CalcDescriptor();
  descriptor.abi_version = RF_MODULE_ABI_VERSION + 1;
  Status status = LoadStatus(PackWithDescriptor("abi-descriptor.rfm", descriptor.ToJson()));
  EXPECT_EQ(status.code(), StatusCode::kAbiMismatch) << status.ToString();
}

TEST_F(BadInputTest, CorruptBytesAreCaughtByTheChecksum) {
  const size_t descriptor_end = internal::kModuleHeaderBytes + CalcDescriptorJson().size();
  const size_t kOffsets[] = {
      descriptor_end + (calc_->size() - descriptor_end) / 2,  // in the code
      calc_->size() - 1,                                      // the last code byte
      internal::kModuleHeaderBytes + 10,                      // in the descriptor
      40,                                                     // in the stored checksum
  };
  for (size_t offset : kOffsets) {
    SCOPED_TRACE("flipped byte at " + std::to_string(offset));
    Bytes corrupt = *calc_;
    corrupt[offset] ^= 0x01;
    Status status = LoadStatus(WriteFile("corrupt.rfm", corrupt));
    EXPECT_EQ(status.code(), StatusCode::kNotAModule) << status.ToString();
    EXPECT_THAT(status.message(), HasSubstr("corrupt"));
    EXPECT_THAT(status.message(), HasSubstr("checksum"));
  }
}

TEST_F(BadInputTest, InvalidDescriptorJsonIsNotAModule) {
  const std::string kDescriptors[] = {
      "",
      "{not json",
      "[1, 2, 3]",
      "\"a string\"",
      "null",
      R"({"format": "ringfence-module"})",
      std::string("{\"name\": \"calc\"\0\"}", 17),
  };
  for (const std::string& json : kDescriptors) {
    SCOPED_TRACE("descriptor: " + json);
    Status status = LoadStatus(PackWithDescriptor("bad-json.rfm", json));
    EXPECT_EQ(status.code(), StatusCode::kNotAModule) << status.ToString();
    EXPECT_THAT(status.message(), HasSubstr("descriptor"));
  }
}

// Each required field, taken out of the real descriptor or given the wrong
// type, makes the file unloadable.
TEST_F(BadInputTest, DescriptorLackingOrMistypingAFieldIsNotAModule) {
  const nlohmann::json original = nlohmann::json::parse(CalcDescriptorJson());
  int checked = 0;
  for (const auto& [key, value] : original.items()) {
    SCOPED_TRACE("field " + key);
    // source_hash is optional provenance: only its type is checked.
    if (key != "source_hash") {
      nlohmann::json without = original;
      without.erase(key);
      Status missing = LoadStatus(PackWithDescriptor("missing-field.rfm", without.dump()));
      EXPECT_EQ(missing.code(), StatusCode::kNotAModule) << missing.ToString();
      EXPECT_THAT(missing.message(), HasSubstr(key));
    }

    nlohmann::json mistyped = original;
    mistyped[key] = value.is_string() ? nlohmann::json(12) : nlohmann::json("twelve");
    Status wrong = LoadStatus(PackWithDescriptor("mistyped-field.rfm", mistyped.dump()));
    EXPECT_EQ(wrong.code(), StatusCode::kNotAModule) << wrong.ToString();
    ++checked;
  }
  EXPECT_GE(checked, 9) << "the descriptor has lost fields";

  // Malformed entries inside the lists.
  const std::vector<std::pair<std::string, nlohmann::json>> kBadEntries = {
      {"exports", nlohmann::json::array({"add"})},
      {"exports", nlohmann::json::array({{{"name", "add"}, {"params", {"i32"}}}})},
      {"exports", nlohmann::json::array(
                      {{{"name", "add"}, {"params", {"i128"}}, {"results", nlohmann::json::array()}}})},
      {"exports", nlohmann::json::array(
                      {{{"name", "add"}, {"params", nlohmann::json::array()}, {"results", {"i32", "i32"}}}})},
      {"imports", nlohmann::json::array(
                      {{{"name", "log"}, {"params", nlohmann::json::array()}, {"results", nlohmann::json::array()}}})},
      {"memory", nlohmann::json{{"initial_pages", -1}, {"max_pages", 65536}}},
      {"abi_version", nlohmann::json(uint64_t{1} << 33)},
      {"name", nlohmann::json("")},
      {"format", nlohmann::json("something-else")},
  };
  for (const auto& [key, replacement] : kBadEntries) {
    SCOPED_TRACE(key + " = " + replacement.dump());
    nlohmann::json changed = original;
    changed[key] = replacement;
    Status status = LoadStatus(PackWithDescriptor("bad-entry.rfm", changed.dump()));
    EXPECT_EQ(status.code(), StatusCode::kNotAModule) << status.ToString();
  }
}

TEST_F(BadInputTest, ImportTheHostLacksIsAMissingImport) {
  ModuleDescriptor descriptor = CalcDescriptor();
  descriptor.imports.push_back({"env", "foo", Signature{{ValueType::kI32}, ValueType::kI32}});
  Status status = LoadStatus(PackWithDescriptor("missing-import.rfm", descriptor.ToJson()));
  EXPECT_EQ(status.code(), StatusCode::kMissingImport) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("env.foo"));

  // A known service with the wrong signature is missing too.
  descriptor = CalcDescriptor();
  descriptor.imports.push_back({"ringfence", "clock_ns", Signature{{ValueType::kI32}, std::nullopt}});
  status = LoadStatus(PackWithDescriptor("wrong-import.rfm", descriptor.ToJson()));
  EXPECT_EQ(status.code(), StatusCode::kMissingImport) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("ringfence.clock_ns"));
}

TEST_F(BadInputTest, ExportsThatDisagreeWithTheCodeAreNotAModule) {
  struct Change {
    const char* what;
    void (*apply)(ModuleDescriptor&);
  };
  const Change kChanges[] = {
      {"renamed export", [](ModuleDescriptor& d) { d.exports[0].name = "plus"; }},
      {"dropped export", [](ModuleDescriptor& d) { d.exports.pop_back(); }},
      {"extra export",
       [](ModuleDescriptor& d) { d.exports.push_back({"extra", Signature{{}, ValueType::kI32}}); }},
      {"parameter type",
       [](ModuleDescriptor& d) { d.exports[0].signature.params[0] = ValueType::kI64; }},
      {"result type", [](ModuleDescriptor& d) { d.exports[0].signature.result = ValueType::kF64; }},
      {"no result", [](ModuleDescriptor& d) { d.exports[0].signature.result.reset(); }},
      {"swapped order", [](ModuleDescriptor& d) { std::swap(d.exports[0], d.exports[1]); }},
      {"module name", [](ModuleDescriptor& d) { d.name = "clac"; }},
  };
  for (const Change& change : kChanges) {
    SCOPED_TRACE(change.what);
    ModuleDescriptor descriptor = CalcDescriptor();
    change.apply(descriptor);
    Status status = LoadStatus(PackWithDescriptor("disagree.rfm", descriptor.ToJson()));
    EXPECT_EQ(status.code(), StatusCode::kNotAModule) << status.ToString();
    EXPECT_THAT(status.message(), HasSubstr("disagree"));
  }
}

TEST_F(BadInputTest, CodeThatIsNotASharedObjectFailsToLoad) {
  const std::string kCodes[] = {"", "\x7f" "ELF", std::string(4096, '\0'), "garbage"};
  for (const std::string& code : kCodes) {
    SCOPED_TRACE("code of " + std::to_string(code.size()) + " bytes");
    // With a content hash that names it, so the dynamic loader gets to see it.
    ModuleDescriptor descriptor = CalcDescriptor();
    descriptor.content_hash = internal::Sha256Text(Bytes(code.begin(), code.end()));
    Bytes file = internal::PackModuleFile(descriptor.ToJson(), Bytes(code.begin(), code.end()));
    Status status = LoadStatus(WriteFile("bad-code.rfm", file));
    EXPECT_EQ(status.code(), StatusCode::kLoadFailed) << status.ToString();
  }
}

// The same checks run on bytes handed over directly, with the origin named.
TEST_F(BadInputTest, LoadFromBytesNamesTheOrigin) {
  Bytes truncated(calc_->begin(), calc_->end() - 1);
  Status status = Module::LoadFromBytes(truncated, "in-memory-origin").status();
  EXPECT_EQ(status.code(), StatusCode::kNotAModule);
  EXPECT_THAT(status.message(), HasSubstr("in-memory-origin"));
  EXPECT_TRUE(Module::LoadFromBytes(*calc_, "in-memory-origin").ok());
}

// A FIFO is refused at once: opening one for reading would wait for a
// writer forever. (If the load blocks, the test opens the writing end to
// set it free, then fails.)
TEST_F(BadInputTest, FifoIsRefusedWithoutBlocking) {
  std::string path = (dir_ / "module.fifo").string();
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  auto load = std::async(std::launch::async, [&] { return LoadStatus(path); });
  if (load.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    int writer = open(path.c_str(), O_WRONLY | O_NONBLOCK);
    if (writer >= 0) close(writer);
    ADD_FAILURE() << "Module::Load blocked on a FIFO";
  }
  Status status = load.get();
  EXPECT_EQ(status.code(), StatusCode::kIoError) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("not a regular file"));
  testing::CliResult inspect = testing::RunCli({"inspect", path});
  EXPECT_EQ(inspect.exit_code, testing::kExitUsage) << inspect;
  EXPECT_THAT(inspect.err, HasSubstr("not a regular file"));
}

// A 1 TiB sparse file is refused by its size, before anything is
// allocated, with a message that states the limit (the CLI once died of an
// uncaught allocation failure).
TEST_F(BadInputTest, HugeSparseFileIsRefusedBySize) {
  std::string path = (dir_ / "huge.rfm").string();
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, off_t{1} << 40), 0);
  close(fd);
  Status status = LoadStatus(path);
  EXPECT_EQ(status.code(), StatusCode::kIoError) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("larger than the 256 MiB"));
  for (const char* command : {"inspect", "call"}) {
    std::vector<std::string> args = {command, path};
    if (std::string(command) == "call") args.push_back("add");
    testing::CliResult result = testing::RunCli(args);
    EXPECT_EQ(result.exit_code, testing::kExitUsage) << command << ": " << result;
    EXPECT_THAT(result.err, HasSubstr("larger than the 256 MiB")) << command;
  }
}

// A module file whose code is not the code its descriptor's content hash
// names (here: calc's code with 16 bytes appended, which the dynamic loader
// would accept) is refused at load, and by inspect.
TEST_F(BadInputTest, CodeNotMatchingTheContentHashIsRefused) {
  Bytes code = CalcCode();
  code.insert(code.end(), 16, 0);
  std::string path = WriteFile("changed.rfm", internal::PackModuleFile(CalcDescriptorJson(), code));
  Status status = LoadStatus(path);
  EXPECT_EQ(status.code(), StatusCode::kNotAModule) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("does not match the content hash"));
  testing::CliResult inspect = testing::RunCli({"inspect", path});
  EXPECT_EQ(inspect.exit_code, testing::kExitUsage) << inspect;
  EXPECT_THAT(inspect.err, HasSubstr("does not match the content hash"));
  // The same code with a descriptor naming its hash passes that check.
  ModuleDescriptor descriptor = CalcDescriptor();
  descriptor.content_hash = internal::Sha256Text(code);
  std::string matching =
      WriteFile("matching.rfm", internal::PackModuleFile(descriptor.ToJson(), code));
  EXPECT_TRUE(Module::Load(matching).ok());
}

// `ringfence inspect` reads the descriptor only: a module file whose code
// has an ELF constructor (which would run the moment the code was mapped)
// is described, and the constructor never runs.
TEST_F(BadInputTest, InspectNeverRunsTheModulesCode) {
  std::string marker = (dir_ / "constructor-ran").string();
  std::string source = WriteFile("constructor.c",
                                 "#include <stdio.h>\n"
                                 "__attribute__((constructor)) static void Run(void) {\n"
                                 "  FILE* f = fopen(MARKER, \"w\");\n"
                                 "  if (f) fclose(f);\n"
                                 "}\n");
  std::string object = (dir_ / "constructor.so").string();
  std::string command = "cc -shared -fPIC '-DMARKER=\"" + marker + "\"' " + source + " -o " + object;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  Bytes code = ReadBytes(object);
  ModuleDescriptor descriptor = CalcDescriptor();
  descriptor.content_hash = internal::Sha256Text(code);
  std::string path = WriteFile("constructor.rfm", internal::PackModuleFile(descriptor.ToJson(), code));

  testing::CliResult inspect = testing::RunCli({"inspect", path});
  EXPECT_EQ(inspect.exit_code, testing::kExitOk) << inspect;
  EXPECT_THAT(inspect.out, HasSubstr("module calc"));
  EXPECT_FALSE(std::filesystem::exists(marker)) << "inspect ran the module's constructor";
  testing::CliResult json = testing::RunCli({"inspect", "--json", path});
  EXPECT_EQ(json.exit_code, testing::kExitOk) << json;
  EXPECT_FALSE(std::filesystem::exists(marker)) << "inspect --json ran the module's constructor";
}

// A start function that never returns ends at the call's deadline: Create
// fails with a timeout trap, and `ringfence call --timeout-ms` reports it
// (a start-up failure: exit 2) instead of hanging.
TEST_F(BadInputTest, StartFunctionThatNeverReturnsEndsAtTheDeadline) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  auto module = testing::LoadOrDie(testing::TestModulePath("start_spins"));
  CompartmentOptions options;
  options.call_timeout = std::chrono::milliseconds(100);
  StatusOr<std::unique_ptr<Compartment>> compartment = Compartment::Create(module, options);
  ASSERT_FALSE(compartment.ok());
  EXPECT_EQ(compartment.status().code(), StatusCode::kInstantiateFailed);
  EXPECT_THAT(compartment.status().message(), HasSubstr("timeout"));

  testing::CliResult call = testing::RunCli(
      {"call", "--timeout-ms", "200", testing::TestModulePath("start_spins"), "never_reached"});
  EXPECT_EQ(call.exit_code, testing::kExitUsage) << call;
  EXPECT_THAT(call.err, HasSubstr("timeout"));
}

}  // namespace
}  // namespace ringfence
