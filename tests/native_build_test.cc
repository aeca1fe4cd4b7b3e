// Native module builds (`ringfence build --native`, the process backend's
// toolchain): what the descriptor says, what the build refuses, and what the
// shared object does when loaded the way the worker loads it. Only this test
// dlopens native module code in the host: it has no worker yet, and it must
// see the module's behaviour directly (constructors, import forwarders).
#include <dlfcn.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "ringfence/internal/native_abi.h"
#include "ringfence/module_builder.h"
#include "ringfence/module_file.h"
#include "src/base/sha256.h"
#include "src/module/call_classes.h"
#include "src/module/module_file_format.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ExampleModulePath;
using testing::ReadBytes;
using testing::TestModulePath;

// A module file's descriptor and code (kept with the bytes they view).
struct ModuleFile {
  std::vector<uint8_t> bytes;
  ModuleDescriptor descriptor;
  std::vector<uint8_t> code;
};

ModuleFile ReadModuleFile(const std::string& path) {
  ModuleFile file;
  file.bytes = ReadBytes(path);
  StatusOr<internal::ModuleFileParts> parts = internal::UnpackModuleFile(file.bytes, path);
  EXPECT_TRUE(parts.ok()) << parts.status().message();
  if (!parts.ok()) return file;
  StatusOr<ModuleDescriptor> descriptor = ModuleDescriptor::FromJson(parts->descriptor_json);
  EXPECT_TRUE(descriptor.ok()) << descriptor.status().message();
  if (descriptor.ok()) file.descriptor = *descriptor;
  file.code.assign(parts->code.begin(), parts->code.end());
  return file;
}

// Imports of other modules (RF_IMPORT): a wasm build also lists the host
// services and WASI functions it imports, which a native build links to its
// runtime instead.
std::vector<ImportInfo> LinkedImports(const std::vector<ImportInfo>& imports) {
  std::vector<ImportInfo> linked;
  for (const ImportInfo& import : imports) {
    if (import.module != "ringfence" && import.module != "wasi_snapshot_preview1") {
      linked.push_back(import);
    }
  }
  return linked;
}

void ExpectSameInterface(const std::string& wasm_path, const std::string& native_path) {
  SCOPED_TRACE(native_path);
  ModuleFile wasm = ReadModuleFile(wasm_path);
  ModuleFile native = ReadModuleFile(native_path);
  EXPECT_EQ(native.descriptor.isolation, Isolation::kProcess);
  EXPECT_EQ(wasm.descriptor.isolation, Isolation::kWasm);
  EXPECT_EQ(native.descriptor.name, wasm.descriptor.name);

  ASSERT_EQ(native.descriptor.exports.size(), wasm.descriptor.exports.size());
  for (size_t i = 0; i < wasm.descriptor.exports.size(); ++i) {
    EXPECT_EQ(native.descriptor.exports[i].name, wasm.descriptor.exports[i].name) << i;
    EXPECT_EQ(native.descriptor.exports[i].signature, wasm.descriptor.exports[i].signature)
        << wasm.descriptor.exports[i].name;
  }
  std::vector<ImportInfo> wasm_imports = LinkedImports(wasm.descriptor.imports);
  ASSERT_EQ(native.descriptor.imports.size(), wasm_imports.size());
  for (size_t i = 0; i < wasm_imports.size(); ++i) {
    EXPECT_EQ(native.descriptor.imports[i].module, wasm_imports[i].module);
    EXPECT_EQ(native.descriptor.imports[i].name, wasm_imports[i].name);
    EXPECT_EQ(native.descriptor.imports[i].signature, wasm_imports[i].signature);
  }

  StatusOr<std::vector<ExportCallClass>> wasm_classes =
      internal::ParseCallClasses(wasm.descriptor, wasm_path);
  StatusOr<std::vector<ExportCallClass>> native_classes =
      internal::ParseCallClasses(native.descriptor, native_path);
  ASSERT_TRUE(wasm_classes.ok()) << wasm_classes.status().message();
  ASSERT_TRUE(native_classes.ok()) << native_classes.status().message();
  size_t declared = 0;
  for (size_t i = 0; i < wasm_classes->size(); ++i) {
    EXPECT_EQ((*native_classes)[i].call_class, (*wasm_classes)[i].call_class) << i;
    EXPECT_EQ((*native_classes)[i].key_param, (*wasm_classes)[i].key_param) << i;
    if ((*wasm_classes)[i].call_class != CallClass::kNeither) ++declared;
  }
  EXPECT_GT(declared, 0u) << "the module declares call classes: the comparison must see them";

  // The native descriptor describes the shared object it carries.
  EXPECT_EQ(native.descriptor.content_hash,
            internal::Sha256Text(native.code));
  ASSERT_GE(native.code.size(), 4u);
  EXPECT_EQ(std::memcmp(native.code.data(), "\x7f" "ELF", 4), 0);
  EXPECT_FALSE(native.descriptor.memory.has_value());
  const std::vector<NativeFunction>& functions = native.descriptor.native_functions;
  EXPECT_EQ(native.descriptor.function_count, functions.size());
  ASSERT_FALSE(functions.empty());
  for (size_t i = 1; i < functions.size(); ++i) {
    EXPECT_LT(functions[i - 1].offset, functions[i].offset);
  }
  std::map<std::string, uint64_t> by_name;
  for (const NativeFunction& function : functions) by_name[function.name] = function.offset;
  EXPECT_TRUE(by_name.contains(RF_NATIVE_ENTRY_SYMBOL));
  for (const ExportInfo& info : native.descriptor.exports) {
    if (!info.IsCallClassMarker()) {
      EXPECT_TRUE(by_name.contains(info.name)) << info.name;
    }
  }
}

TEST(NativeBuildTest, SupervisedModuleListsWhatItsWasmBuildLists) {
  ExpectSameInterface(TestModulePath("lib_supervised"), TestModulePath("lib_supervised_native"));
}

TEST(NativeBuildTest, MinifsListsWhatItsWasmBuildLists) {
  ExpectSameInterface(ExampleModulePath("minifs"), ExampleModulePath("minifs_native"));
}

TEST(NativeBuildTest, FrontendListsWhatItsWasmBuildListsIncludingImports) {
  ModuleFile native = ReadModuleFile(TestModulePath("lib_frontend_native"));
  EXPECT_EQ(native.descriptor.imports.size(), 6u);
  ModuleFile wasm = ReadModuleFile(TestModulePath("lib_frontend"));
  ASSERT_EQ(LinkedImports(wasm.descriptor.imports).size(), native.descriptor.imports.size());
  for (size_t i = 0; i < native.descriptor.imports.size(); ++i) {
    EXPECT_EQ(native.descriptor.imports[i].name, LinkedImports(wasm.descriptor.imports)[i].name);
  }
}

// A scratch directory for sources and outputs of in-process builds.
class NativeBuildErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rf-native-build-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code error;
    fs::remove_all(dir_, error);
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  Status Build(std::vector<std::string> sources, bool native = true) {
    BuildOptions options;
    options.sources = std::move(sources);
    options.output = (dir_ / "out.rfm").string();
    options.native = native;
    return BuildModule(options);
  }
  bool OutputExists() const { return fs::exists(dir_ / "out.rfm"); }

  fs::path dir_;
};

TEST_F(NativeBuildErrorsTest, AnExportTakingAPointerIsRefusedByName) {
  std::string source = Write("pointer.c", R"(#include <ringfence/module.h>
RF_EXPORT(fine) int32_t fine(int32_t x) { return x; }
RF_EXPORT(takes_text) int32_t takes_text(const char* text) { return text[0]; }
)");
  Status status = Build({source});
  EXPECT_EQ(status.code(), StatusCode::kBuildFailed);
  EXPECT_THAT(status.message(), HasSubstr("export takes_text"));
  EXPECT_THAT(status.message(), HasSubstr("parameter 1 has type"));
  EXPECT_THAT(status.message(), HasSubstr("(a pointer)"));
  EXPECT_FALSE(OutputExists());
}

TEST_F(NativeBuildErrorsTest, AnExportReturningAByteIsRefusedByName) {
  std::string source = Write("byte.c", R"(#include <ringfence/module.h>
RF_EXPORT(small) uint8_t small(void) { return 1; }
)");
  Status status = Build({source});
  EXPECT_EQ(status.code(), StatusCode::kBuildFailed);
  EXPECT_THAT(status.message(), HasSubstr("export small"));
  EXPECT_THAT(status.message(), HasSubstr("result has type i8"));
}

TEST_F(NativeBuildErrorsTest, AMissingSourceIsRefused) {
  Status status = Build({(dir_ / "absent.c").string()});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("absent.c: no such file"));
}

TEST_F(NativeBuildErrorsTest, AnUnknownExtensionIsRefused) {
  std::string source = Write("module.txt", "int x;\n");
  Status status = Build({source});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("unknown source type"));
}

TEST_F(NativeBuildErrorsTest, AWasmInputCannotBeBuiltNatively) {
  std::string source = Write("module.wasm", std::string("\0asm\1\0\0\0", 8));
  Status status = Build({source});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("cannot be built natively"));
}

TEST_F(NativeBuildErrorsTest, InlineX86AssemblyBuildsOnlyNatively) {
  std::string modules = std::string(RF_SOURCE_DIR) + "/tests/modules/";
  std::vector<std::string> sources = {modules + "lib_native_only.c",
                                      modules + "lib_native_only_cxx.cc"};
  Status wasm = Build(sources, /*native=*/false);
  EXPECT_EQ(wasm.code(), StatusCode::kBuildFailed) << wasm.message();
  EXPECT_FALSE(OutputExists());
  Status native = Build(sources, /*native=*/true);
  EXPECT_TRUE(native.ok()) << native.message();
  EXPECT_TRUE(OutputExists());
}

// --- Loading a native module's code the way the worker does. ---

// What the fake worker saw. The module calls plain function pointers, so
// the record is global; the tests below run one at a time.
struct WorkerRecord {
  std::vector<std::pair<uint32_t, std::vector<uint64_t>>> linked_calls;
  std::vector<std::string> logs;
  uint64_t linked_result = 0;
};
WorkerRecord g_worker;

void FakeLog(int32_t, const char* message, size_t length) {
  g_worker.logs.emplace_back(message, length);
}
int64_t FakeClock() { return 1; }
int32_t FakeSleep(int64_t) { return 0; }
int32_t FakeHandle(int32_t) { return -1; }
int32_t FakeOpen(const char*, size_t) { return -2; }
int32_t FakeStatus() { return 0; }
int32_t FakeFaultPoint(const char*, uint32_t) { return 0; }
// The forwarder's arguments: as many slots as the import has parameters.
size_t g_linked_arg_count = 0;
uint64_t FakeCallLinked(uint32_t index, const uint64_t* args) {
  g_worker.linked_calls.emplace_back(index, std::vector<uint64_t>(args, args + g_linked_arg_count));
  return g_worker.linked_result;
}

rf_worker_api FakeWorker(uint32_t version = RF_NATIVE_ABI_VERSION) {
  return rf_worker_api{version,    FakeLog,    FakeClock,  FakeSleep,  FakeHandle,
                       FakeOpen,   FakeHandle, FakeHandle, FakeHandle, FakeOpen,
                       FakeHandle, FakeHandle, FakeStatus, FakeCallLinked, FakeFaultPoint};
}

// A module file's shared object, written to a file and dlopened.
class LoadedNativeCode {
 public:
  explicit LoadedNativeCode(const std::string& module_path) {
    ModuleFile file = ReadModuleFile(module_path);
    descriptor_ = file.descriptor;
    char pattern[] = "/tmp/rf-native-code-XXXXXX";
    int fd = mkstemp(pattern);
    EXPECT_GE(fd, 0);
    path_ = pattern;
    EXPECT_EQ(write(fd, file.code.data(), file.code.size()),
              static_cast<ssize_t>(file.code.size()));
    close(fd);
    handle_ = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
    EXPECT_NE(handle_, nullptr) << dlerror();
  }
  ~LoadedNativeCode() {
    if (handle_ != nullptr) dlclose(handle_);
    unlink(path_.c_str());
  }
  rf_native_entry_fn entry() const {
    return handle_ == nullptr
               ? nullptr
               : reinterpret_cast<rf_native_entry_fn>(dlsym(handle_, RF_NATIVE_ENTRY_SYMBOL));
  }
  const ModuleDescriptor& descriptor() const { return descriptor_; }

 private:
  ModuleDescriptor descriptor_;
  std::string path_;
  void* handle_ = nullptr;
};

const rf_native_export* FindExport(const rf_native_module& module, std::string_view name) {
  for (uint32_t i = 0; i < module.export_count; ++i) {
    if (name == module.exports[i].name) return &module.exports[i];
  }
  return nullptr;
}

uint64_t Call(const rf_native_module& module, std::string_view name,
              std::vector<uint64_t> args = {}) {
  const rf_native_export* entry = FindExport(module, name);
  EXPECT_NE(entry, nullptr) << name;
  if (entry == nullptr) return 0;
  EXPECT_EQ(std::strlen(entry->params), args.size()) << name;
  uint64_t result = 0xdeadbeefdeadbeefull;
  args.push_back(0);  // never an empty array
  entry->call(args.data(), &result);
  return result;
}

TEST(NativeCodeTest, CalcExportsMatchTheDescriptorAndCallThroughSlots) {
  LoadedNativeCode code(ExampleModulePath("calc_native"));
  rf_native_entry_fn entry = code.entry();
  ASSERT_NE(entry, nullptr);
  rf_worker_api stale = FakeWorker(RF_NATIVE_ABI_VERSION + 1);
  EXPECT_EQ(entry(&stale), nullptr);
  rf_worker_api worker = FakeWorker();
  const rf_native_module* module = entry(&worker);
  ASSERT_NE(module, nullptr);
  EXPECT_EQ(module->abi_version, RF_NATIVE_ABI_VERSION);
  EXPECT_STREQ(module->name, "calc");
  EXPECT_EQ(module->import_count, 0u);
  const std::vector<ExportInfo>& exports = code.descriptor().exports;
  ASSERT_EQ(module->export_count, exports.size());
  for (size_t i = 0; i < exports.size(); ++i) {
    EXPECT_EQ(module->exports[i].name, exports[i].name);
    std::string params;
    for (ValueType type : exports[i].signature.params) params += ValueTypeCode(type);
    EXPECT_EQ(module->exports[i].params, params) << exports[i].name;
  }
  module->start();

  // i32 results fill only the low 32 bits of the slot.
  EXPECT_EQ(Call(*module, "add", {2, 3}), 5u);
  EXPECT_EQ(Call(*module, "add", {0xffffffffu, 0}), 0xffffffffu);
  EXPECT_EQ(Call(*module, "subtract", {2, 3}), 0xffffffffu);
  Value product{ValueType::kI64, Call(*module, "multiply", {Value::I64(-3).bits, 1ull << 40})};
  EXPECT_EQ(product.i64(), -3ll << 40);
  Value mean{ValueType::kF64,
             Call(*module, "average", {Value::F64(1.0).bits, Value::F64(2.0).bits})};
  EXPECT_EQ(mean.f64(), 1.5);
  Value scaled{ValueType::kF32,
               Call(*module, "scale", {Value::F32(1.5f).bits, Value::F32(4.0f).bits})};
  EXPECT_EQ(scaled.bits >> 32, 0u);
  EXPECT_EQ(scaled.f32(), 6.0f);
}

TEST(NativeCodeTest, ConstructorsRunOnlyAtStartAndImportsForwardToCallLinked) {
  LoadedNativeCode code(TestModulePath("lib_native_only_native"));
  rf_native_entry_fn entry = code.entry();
  ASSERT_NE(entry, nullptr);
  rf_worker_api worker = FakeWorker();
  const rf_native_module* module = entry(&worker);
  ASSERT_NE(module, nullptr);

  // dlopen and the entry point ran none of the module's constructors.
  EXPECT_EQ(Call(*module, "c_constructor_runs"), 0u);
  EXPECT_EQ(Call(*module, "cxx_initializer_runs"), 0u);
  module->start();
  EXPECT_EQ(Call(*module, "c_constructor_runs"), 1u);
  EXPECT_EQ(Call(*module, "cxx_initializer_runs"), 1u);
  module->start();  // once only
  EXPECT_EQ(Call(*module, "c_constructor_runs"), 1u);
  EXPECT_EQ(Call(*module, "cxx_initializer_runs"), 1u);

  // Imports, in the descriptor's order, forward to call_linked by index.
  const std::vector<ImportInfo>& imports = code.descriptor().imports;
  ASSERT_EQ(imports.size(), 2u);
  EXPECT_EQ(module->import_count, 2u);
  EXPECT_EQ(imports[0].module, "peer");
  EXPECT_EQ(imports[0].name, "twice");
  EXPECT_EQ(imports[1].name, "mix");
  EXPECT_EQ(imports[1].signature.ToString(), "(i64, f32, f64) -> f64");

  g_worker = {};
  g_worker.linked_result = 0xffffffff00000000ull | 42;  // only the low 32 bits are the i32
  g_linked_arg_count = 1;
  EXPECT_EQ(Call(*module, "call_twice", {Value::I32(-20).bits}), 43u);
  ASSERT_EQ(g_worker.linked_calls.size(), 1u);
  EXPECT_EQ(g_worker.linked_calls[0].first, 0u);
  EXPECT_EQ(g_worker.linked_calls[0].second, std::vector<uint64_t>{0xffffffecu});

  g_worker = {};
  g_worker.linked_result = Value::F64(-0.5).bits;
  g_linked_arg_count = 3;
  uint64_t mixed = Call(*module, "call_mix",
                        {Value::I64(-5).bits, Value::F32(1.5f).bits, Value::F64(2.25).bits});
  EXPECT_EQ((Value{ValueType::kF64, mixed}.f64()), -0.5);
  ASSERT_EQ(g_worker.linked_calls.size(), 1u);
  EXPECT_EQ(g_worker.linked_calls[0].first, 1u);
  EXPECT_EQ(g_worker.linked_calls[0].second,
            (std::vector<uint64_t>{Value::I64(-5).bits, Value::F32(1.5f).bits,
                                   Value::F64(2.25).bits}));

  // The inline assembly runs.
  EXPECT_NE(Call(*module, "vendor_word"), 0u);
}

}  // namespace
}  // namespace ringfence
