// `ringfence build` of a hostile .wasm. The files are written byte by byte
// here, since each is something no well-behaved toolchain would emit:
//   - names (exports, the name section's module and function names) that
//     are C text: wasm2c copies names unescaped into the C it writes, and a
//     name that closes a comment there would add code of the attacker's to
//     the module, run in the host at load. The names must reach no C, yet
//     stay usable: the export is called, the function named, by its name.
//   - files that made the build itself crash or exhaust memory (SIMD, deep
//     nesting, millions of locals): each must be one clear error, exit 2,
//     with nothing left behind in the temporary directory.
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/cli_runner.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::CliResult;
using testing::kExitOk;
using testing::kExitTrap;
using testing::kExitUsage;
using testing::RunCli;
using testing::TempDir;

using Bytes = std::vector<uint8_t>;

void Leb(Bytes* out, uint64_t value) {
  do {
    uint8_t byte = value & 0x7f;
    value >>= 7;
    out->push_back(value != 0 ? (byte | 0x80) : byte);
  } while (value != 0);
}

void Name(Bytes* out, std::string_view name) {
  Leb(out, name.size());
  out->insert(out->end(), name.begin(), name.end());
}

void Section(Bytes* module, uint8_t id, const Bytes& payload) {
  module->push_back(id);
  Leb(module, payload.size());
  module->insert(module->end(), payload.begin(), payload.end());
}

Bytes Header() { return {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}; }

constexpr uint8_t kUnreachable = 0x00;
constexpr uint8_t kEnd = 0x0b;
constexpr uint8_t kI32Const = 0x41;

struct Function {
  std::string export_name;  // "" for none
  std::string debug_name;   // in the name section; "" for none
  Bytes code;               // the body's instructions, without the final end
};

struct Import {
  std::string module;
  std::string field;
};

// A module of functions of type () -> i32 (imported ones first), with a
// name section.
Bytes ModuleOf(const std::vector<Function>& functions, const std::string& module_name,
               const std::vector<Import>& imports = {}) {
  Bytes module = Header();
  Section(&module, 1, {1, 0x60, 0, 1, 0x7f});
  if (!imports.empty()) {
    Bytes import_section;
    Leb(&import_section, imports.size());
    for (const Import& import : imports) {
      Name(&import_section, import.module);
      Name(&import_section, import.field);
      import_section.insert(import_section.end(), {0, 0});  // a function of type 0
    }
    Section(&module, 2, import_section);
  }
  const size_t first = imports.size();  // index of the first defined function
  Bytes function_section;
  Leb(&function_section, functions.size());
  for (size_t i = 0; i < functions.size(); ++i) function_section.push_back(0);
  Section(&module, 3, function_section);
  Bytes exports, code;
  size_t export_count = 0;
  Leb(&code, functions.size());
  for (size_t i = 0; i < functions.size(); ++i) {
    if (!functions[i].export_name.empty()) {
      Name(&exports, functions[i].export_name);
      exports.push_back(0);  // a function
      Leb(&exports, first + i);
      ++export_count;
    }
    Bytes body = {0};  // no locals
    body.insert(body.end(), functions[i].code.begin(), functions[i].code.end());
    body.push_back(kEnd);
    Leb(&code, body.size());
    code.insert(code.end(), body.begin(), body.end());
  }
  Bytes export_section;
  Leb(&export_section, export_count);
  export_section.insert(export_section.end(), exports.begin(), exports.end());
  Section(&module, 7, export_section);
  Section(&module, 10, code);

  Bytes names;
  Name(&names, "name");
  if (!module_name.empty()) {
    Bytes subsection;
    Name(&subsection, module_name);
    names.push_back(0);
    Leb(&names, subsection.size());
    names.insert(names.end(), subsection.begin(), subsection.end());
  }
  Bytes function_names;
  size_t named = 0;
  for (size_t i = 0; i < functions.size(); ++i) {
    if (functions[i].debug_name.empty()) continue;
    Leb(&function_names, first + i);
    Name(&function_names, functions[i].debug_name);
    ++named;
  }
  Bytes subsection;
  Leb(&subsection, named);
  subsection.insert(subsection.end(), function_names.begin(), function_names.end());
  names.push_back(1);
  Leb(&names, subsection.size());
  names.insert(names.end(), subsection.begin(), subsection.end());
  Section(&module, 0, names);
  return module;
}

// C that, if it ever reached a compiler from inside a C comment, would end
// the comment and add an .init_array entry that creates `marker` (run when
// the module is loaded). One line, and numeric labels: any number of
// copies of it in one file still assemble. (`marker` has no quote or
// backslash.)
std::string Injection(const std::string& marker) {
  return "x' */ __asm__(\".pushsection .rodata\\n2: .asciz \\\"" + marker +
         "\\\"\\n.popsection\\n.pushsection .text\\n1: lea 2b(%rip), %rdi\\n"
         " mov $420, %esi\\n jmp creat@PLT\\n.popsection\\n"
         ".pushsection .init_array,\\\"aw\\\"\\n.quad 1b\\n.popsection\"); /* '";
}

Bytes ReturnI32(uint8_t value) { return {kI32Const, value}; }

// Points TMPDIR (where builds make their work directories) at a directory
// of the test's own while it lives.
class ScopedTmpDir {
 public:
  explicit ScopedTmpDir(const std::string& dir) {
    if (const char* old = std::getenv("TMPDIR"); old != nullptr) old_ = old;
    setenv("TMPDIR", dir.c_str(), 1);
  }
  ~ScopedTmpDir() {
    if (old_) {
      setenv("TMPDIR", old_->c_str(), 1);
    } else {
      unsetenv("TMPDIR");
    }
  }

 private:
  std::optional<std::string> old_;
};

std::vector<std::string> Entries(const fs::path& dir) {
  std::vector<std::string> entries;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    entries.push_back(entry.path().filename().string());
  }
  return entries;
}

class HostileWasmTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const Bytes& bytes) {
    return dir_.File(name, std::string(bytes.begin(), bytes.end()));
  }
  std::string Path(const std::string& name) const { return dir_.Path(name); }

  // Builds `wasm` with TMPDIR set to an empty directory of its own; expects
  // the build to fail cleanly and leave that directory empty.
  CliResult BuildFails(const std::string& wasm) {
    fs::path tmp = Path("tmp");
    fs::create_directories(tmp);
    CliResult result;
    {
      ScopedTmpDir scoped(tmp.string());
      result = RunCli({"build", wasm, "-o", Path("out.rfm")});
    }
    EXPECT_EQ(result.exit_code, kExitUsage) << result;
    EXPECT_THAT(result.err, HasSubstr("ringfence build: error: ")) << result;
    EXPECT_FALSE(fs::exists(Path("out.rfm")));
    EXPECT_THAT(Entries(tmp), ::testing::IsEmpty()) << "the build left files in its TMPDIR";
    return result;
  }

  TempDir dir_;
};

// ----------------------------------------------------- names as C text

TEST_F(HostileWasmTest, ExportNameCannotInjectC) {
  std::string marker = Path("injected-by-export-name");
  std::string hostile = "run" + Injection(marker);
  std::string wasm = Write("export.wasm", ModuleOf({{hostile, "", ReturnI32(42)},
                                                   {"plain", "", ReturnI32(7)}},
                                                  ""));
  CliResult build = RunCli({"build", wasm, "-o", Path("export.rfm"), "-q"});
  ASSERT_EQ(build.exit_code, kExitOk) << build;
  EXPECT_FALSE(fs::exists(marker)) << "code from an export name ran during the build";
  CliResult inspect = RunCli({"inspect", Path("export.rfm")});
  EXPECT_EQ(inspect.exit_code, kExitOk) << inspect;
  EXPECT_FALSE(fs::exists(marker)) << "code from an export name ran at load";
  // The export keeps its real name, newlines and all.
  CliResult call = RunCli({"call", Path("export.rfm"), hostile});
  EXPECT_EQ(call.exit_code, kExitOk) << call;
  EXPECT_EQ(call.out, "42\n");
  EXPECT_EQ(RunCli({"call", Path("export.rfm"), "plain"}).out, "7\n");
  EXPECT_FALSE(fs::exists(marker)) << "code from an export name ran at a call";
}

// Import names reach wasm2c's output the same way. (Any module name but a
// few is an import from another module, linked at load: this one loads.)
TEST_F(HostileWasmTest, ImportNamesCannotInjectC) {
  std::string marker = Path("injected-by-import-name");
  std::string wasm = Write("import.wasm", ModuleOf({{"answer", "", ReturnI32(42)}}, "",
                                                   {{"lib" + Injection(marker), "f" + Injection(marker)}}));
  CliResult build = RunCli({"build", wasm, "-o", Path("import.rfm"), "-q"});
  ASSERT_EQ(build.exit_code, kExitOk) << build;
  CliResult call = RunCli({"call", Path("import.rfm"), "answer"});
  EXPECT_EQ(call.out, "42\n") << call;
  EXPECT_FALSE(fs::exists(marker)) << "code from an import name ran";
  // The descriptor keeps the real names.
  CliResult inspect = RunCli({"inspect", Path("import.rfm")});
  EXPECT_THAT(inspect.out, HasSubstr("lib" + Injection(marker) + ".f" + Injection(marker)));
}

// wasm2c 1.0.32 turns these names into C identifiers safely, but they are
// the module's text all the same: none reaches wasm2c.
TEST_F(HostileWasmTest, NameSectionCannotInjectC) {
  std::string marker = Path("injected-by-name-section");
  std::string wasm = Write("names.wasm", ModuleOf({{"answer", "f" + Injection(marker), ReturnI32(42)}},
                                                 "m" + Injection(marker)));
  CliResult build = RunCli({"build", wasm, "-o", Path("names.rfm"), "-q"});
  ASSERT_EQ(build.exit_code, kExitOk) << build;
  CliResult call = RunCli({"call", Path("names.rfm"), "answer"});
  EXPECT_EQ(call.out, "42\n") << call;
  EXPECT_FALSE(fs::exists(marker)) << "code from the name section ran";
}

// Names are kept for what they are for: a trap names the function by its
// name from the name section, bytes intact.
TEST_F(HostileWasmTest, TrapNamesTheFunctionByItsRealName) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  std::string name = "odd */ \"name\" ?\?= \xc3\xbc";
  std::string wasm = Write("trap.wasm", ModuleOf({{"boom", name, {kUnreachable}}}, ""));
  CliResult build = RunCli({"build", wasm, "-o", Path("trap.rfm"), "-q"});
  ASSERT_EQ(build.exit_code, kExitOk) << build;
  CliResult call = RunCli({"call", Path("trap.rfm"), "boom"});
  EXPECT_EQ(call.exit_code, kExitTrap) << call;
  EXPECT_THAT(call.err, HasSubstr("(function " + name + ")"));
}

// ------------------------------------------- files that crashed the build

TEST_F(HostileWasmTest, SimdIsRefusedByName) {
  // v128.const 0, then i32x4.extract_lane 0: returns an i32.
  Bytes code = {0xfd, 0x0c};
  code.insert(code.end(), 16, 0);
  code.insert(code.end(), {0xfd, 0x1b, 0x00});
  CliResult result = BuildFails(Write("simd.wasm", ModuleOf({{"f", "", code}}, "")));
  EXPECT_THAT(result.err, AllOf(HasSubstr("simd.wasm: at byte "), HasSubstr("v128.const"),
                                HasSubstr("the wasm feature 'simd'")));
}

TEST_F(HostileWasmTest, DeepNestingIsRefused) {
  Bytes code;
  for (int i = 0; i < 100'000; ++i) code.insert(code.end(), {0x02, 0x40});  // block
  for (int i = 0; i < 100'000; ++i) code.push_back(kEnd);
  code.insert(code.end(), {kI32Const, 1});
  CliResult result = BuildFails(Write("nested.wasm", ModuleOf({{"f", "", code}}, "")));
  EXPECT_THAT(result.err, HasSubstr("function 0 nests blocks more than 10000 deep"));
}

// Nesting right at the limit still builds and runs.
TEST_F(HostileWasmTest, NestingAtTheLimitBuilds) {
  Bytes code;
  for (int i = 0; i < 10'000; ++i) code.insert(code.end(), {0x02, 0x40});
  for (int i = 0; i < 10'000; ++i) code.push_back(kEnd);
  code.insert(code.end(), {kI32Const, 5});
  std::string wasm = Write("deep.wasm", ModuleOf({{"f", "", code}}, ""));
  CliResult build = RunCli({"build", wasm, "-o", Path("deep.rfm"), "-q"});
  ASSERT_EQ(build.exit_code, kExitOk) << build;
  EXPECT_EQ(RunCli({"call", Path("deep.rfm"), "f"}).out, "5\n");
}

// 39 bytes: one function, run(i32), declaring 50,000,000 i32 locals. It
// drove the build past 4 GiB before it died.
TEST_F(HostileWasmTest, MillionsOfLocalsAreRefusedInBoundedMemory) {
  Bytes module = Header();
  Section(&module, 1, {1, 0x60, 1, 0x7f, 0});
  Section(&module, 3, {1, 0});
  Section(&module, 7, {1, 3, 'r', 'u', 'n', 0, 0});
  Bytes body = {1};  // one declaration
  Leb(&body, 50'000'000);
  body.insert(body.end(), {0x7f, kEnd});
  Bytes code = {1};
  Leb(&code, body.size());
  code.insert(code.end(), body.begin(), body.end());
  Section(&module, 10, code);
  ASSERT_EQ(module.size(), 39u);
  CliResult result = BuildFails(Write("locals.wasm", module));
  EXPECT_THAT(result.err, HasSubstr("function 0 declares more than 50000 locals"));
  // The most any one process of the build (this test's children and theirs)
  // held: the refusal costs no more than reading the file.
  rusage usage{};
  ASSERT_EQ(getrusage(RUSAGE_CHILDREN, &usage), 0);
  if (testing::kMemoryFiguresMeaningful) EXPECT_LT(usage.ru_maxrss, 512 * 1024) << "KiB";
}

// wabt's IR reader asserts (an abort, not an error) on this 30-byte module
// the fuzzer found: a global initialised by a `loop` whose block type byte
// is the `end` opcode, so the loop is never closed, then one function.
TEST_F(HostileWasmTest, NonConstantInitializerIsRefused) {
  Bytes wasm = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,  // header
                0x01, 0x04, 0x01, 0x60, 0x00, 0x00,              // type () -> ()
                0x03, 0x02, 0x01, 0x00,                          // one function
                0x06, 0x05, 0x01, 0x7f, 0x01, 0x03, 0x0b,        // global: loop
                0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b};             // its body
  CliResult result = BuildFails(Write("init.wasm", wasm));
  EXPECT_THAT(result.err, HasSubstr("an initializer uses loop, which is not a constant instruction"));
}

// A v128 in a type that nothing uses still aborts wasm2c's C writer.
TEST_F(HostileWasmTest, SimdInAnUnusedTypeIsRefused) {
  Bytes wasm = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
                0x01, 0x06, 0x01, 0x60, 0x01, 0x7c, 0x01, 0x7b};  // type (f64) -> v128
  CliResult result = BuildFails(Write("type.wasm", wasm));
  EXPECT_THAT(result.err, HasSubstr("type 0 has type v128"));
}

TEST_F(HostileWasmTest, GarbageIsNotAModule) {
  CliResult result = BuildFails(Write("garbage.wasm", Bytes{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00,
                                                            0x00, 0x01, 0xff, 0xff, 0xff}));
  EXPECT_THAT(result.err, HasSubstr("garbage.wasm: not a valid wasm module: at byte "));
}

}  // namespace
}  // namespace ringfence
