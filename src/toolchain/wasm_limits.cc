#include "src/toolchain/wasm_limits.h"

#include <optional>

#include <fmt/format.h>

#include "src/toolchain/wasm_features.h"
#include "wabt/binary-reader-nop.h"
#include "wabt/binary-reader.h"

namespace ringfence::internal {
namespace {

// The JS API's implementation limits (those engines share), except where
// ringfence needs less: counts bound the memory wabt allocates up front.
constexpr uint64_t kMaxTypes = 1'000'000;
constexpr uint64_t kMaxFunctions = 1'000'000;  // imported and defined
constexpr uint64_t kMaxImports = 100'000;
constexpr uint64_t kMaxExports = 100'000;
constexpr uint64_t kMaxGlobals = 1'000'000;
constexpr uint64_t kMaxTables = 100'000;
constexpr uint64_t kMaxDataSegments = 100'000;
constexpr uint64_t kMaxElemSegments = 100'000;  // the JS API allows 10,000,000
constexpr uint64_t kMaxParams = 1'000;
constexpr uint64_t kMaxResults = 1'000;
constexpr uint64_t kMaxLocals = 50'000;  // declared, per function, beyond the params
constexpr uint64_t kMaxFunctionBodyBytes = 7'654'321;
// Not a JS API limit: wabt recurses once per level (reading, validating,
// writing C, freeing). LLVM nests one block per case of a switch, so
// generated parsers reach a few thousand; wabt crashes near 100,000 on an
// 8 MiB stack.
constexpr uint64_t kMaxNesting = 10'000;

// Returns from the calling callback if `type` is outside the translatable
// features.
#define CHECK_TYPE(type, where)                                                 \
  do {                                                                          \
    if (wabt::Result checked = CheckType((type), (where)); wabt::Failed(checked)) \
      return checked;                                                           \
  } while (0)

class LimitsReader : public wabt::BinaryReaderNop {
 public:
  const std::optional<std::string>& refusal() const { return refusal_; }
  const std::optional<std::string>& parse_error() const { return parse_error_; }

  bool OnError(const wabt::Error& error) override {
    if (!parse_error_) parse_error_ = fmt::format("at byte {}: {}", error.loc.offset, error.message);
    return true;
  }

  wabt::Result OnTypeCount(wabt::Index count) override { return Count(count, kMaxTypes, "types"); }
  wabt::Result OnFuncType(wabt::Index index, wabt::Index param_count, wabt::Type* param_types,
                          wabt::Index result_count, wabt::Type* result_types) override {
    if (param_count > kMaxParams || result_count > kMaxResults) {
      return Refuse(fmt::format("type {} has {} parameters and {} results (the limits are {} and {})",
                                index, param_count, result_count, kMaxParams, kMaxResults));
    }
    for (wabt::Index i = 0; i < param_count; ++i) CHECK_TYPE(param_types[i], fmt::format("type {}", index));
    for (wabt::Index i = 0; i < result_count; ++i) CHECK_TYPE(result_types[i], fmt::format("type {}", index));
    return wabt::Result::Ok;
  }
  wabt::Result OnStructType(wabt::Index, wabt::Index, wabt::TypeMut*) override { return Feature("gc"); }
  wabt::Result OnArrayType(wabt::Index, wabt::TypeMut) override { return Feature("gc"); }

  wabt::Result OnImportCount(wabt::Index count) override {
    return Count(count, kMaxImports, "imports");
  }
  wabt::Result OnImportFunc(wabt::Index, std::string_view, std::string_view, wabt::Index,
                            wabt::Index) override {
    return AddFunctions(1);
  }
  wabt::Result OnImportMemory(wabt::Index, std::string_view, std::string_view, wabt::Index,
                              const wabt::Limits* limits) override {
    return AddMemory(*limits);
  }
  wabt::Result OnImportGlobal(wabt::Index, std::string_view, std::string_view, wabt::Index,
                              wabt::Type type, bool) override {
    CHECK_TYPE(type, "an imported global");
    return AddGlobals(1);
  }
  wabt::Result OnImportTable(wabt::Index, std::string_view, std::string_view, wabt::Index,
                             wabt::Type, const wabt::Limits*) override {
    return AddTables(1);
  }
  wabt::Result OnImportTag(wabt::Index, std::string_view, std::string_view, wabt::Index,
                           wabt::Index) override {
    return Feature("exceptions");
  }

  wabt::Result OnFunctionCount(wabt::Index count) override { return AddFunctions(count); }
  wabt::Result OnTableCount(wabt::Index count) override { return AddTables(count); }
  wabt::Result OnMemory(wabt::Index, const wabt::Limits* limits) override { return AddMemory(*limits); }
  wabt::Result OnGlobalCount(wabt::Index count) override { return AddGlobals(count); }
  wabt::Result BeginGlobal(wabt::Index index, wabt::Type type, bool) override {
    CHECK_TYPE(type, fmt::format("global {}", index));
    return wabt::Result::Ok;
  }
  wabt::Result OnExportCount(wabt::Index count) override {
    return Count(count, kMaxExports, "exports");
  }
  wabt::Result OnElemSegmentCount(wabt::Index count) override {
    return Count(count, kMaxElemSegments, "element segments");
  }
  wabt::Result OnDataSegmentCount(wabt::Index count) override {
    return Count(count, kMaxDataSegments, "data segments");
  }
  wabt::Result OnTagCount(wabt::Index) override { return Feature("exceptions"); }

  wabt::Result BeginFunctionBody(wabt::Index index, wabt::Offset size) override {
    function_ = index;
    locals_ = 0;
    depth_ = 0;
    if (size > kMaxFunctionBodyBytes) {
      return Refuse(fmt::format("function {}'s code is {} bytes (the limit is {})", index, size,
                                kMaxFunctionBodyBytes));
    }
    return wabt::Result::Ok;
  }
  wabt::Result OnLocalDecl(wabt::Index, wabt::Index count, wabt::Type type) override {
    locals_ += count;
    if (locals_ > kMaxLocals) {
      return Refuse(fmt::format("function {} declares more than {} locals", function_, kMaxLocals));
    }
    CHECK_TYPE(type, fmt::format("a local of function {}", function_));
    return wabt::Result::Ok;
  }
  // Initializers of globals and segment offsets: constant instructions
  // only, as the spec says. wabt's IR reader asserts on some malformed
  // non-constant ones (a `loop` that is never closed) instead of failing.
  wabt::Result BeginGlobalInitExpr(wabt::Index) override { return BeginInitExpr(); }
  wabt::Result EndGlobalInitExpr(wabt::Index) override { return EndInitExpr(); }
  wabt::Result BeginElemSegmentInitExpr(wabt::Index) override { return BeginInitExpr(); }
  wabt::Result EndElemSegmentInitExpr(wabt::Index) override { return EndInitExpr(); }
  wabt::Result BeginDataSegmentInitExpr(wabt::Index) override { return BeginInitExpr(); }
  wabt::Result EndDataSegmentInitExpr(wabt::Index) override { return EndInitExpr(); }

  wabt::Result OnOpcode(wabt::Opcode opcode) override {
    if (in_init_expr_ && !IsConstantInstruction(opcode)) {
      return Refuse(fmt::format("an initializer uses {}, which is not a constant instruction",
                                opcode.GetName()));
    }
    if (opcode.IsEnabled(TranslatableFeatures())) return wabt::Result::Ok;
    std::string feature = FeatureOf(opcode);
    return Refuse(fmt::format("function {} uses {}, {}", function_, opcode.GetName(),
                              feature.empty() ? std::string("an instruction ringfence cannot translate")
                                              : FeatureText(feature)));
  }
  wabt::Result OnBlockExpr(wabt::Type sig) override { return Enter(sig); }
  wabt::Result OnLoopExpr(wabt::Type sig) override { return Enter(sig); }
  wabt::Result OnIfExpr(wabt::Type sig) override { return Enter(sig); }
  wabt::Result OnTryExpr(wabt::Type sig) override { return Enter(sig); }
  wabt::Result OnEndExpr() override {
    --depth_;
    return wabt::Result::Ok;
  }
  wabt::Result OnDelegateExpr(wabt::Index) override {
    --depth_;
    return wabt::Result::Ok;
  }

 private:
  wabt::Result CheckType(wabt::Type type, const std::string& where) {
    switch (type) {
      case wabt::Type::I32:
      case wabt::Type::I64:
      case wabt::Type::F32:
      case wabt::Type::F64:
      case wabt::Type::FuncRef:
      case wabt::Type::ExternRef:
        return wabt::Result::Ok;
      case wabt::Type::V128:
        return Refuse(fmt::format("{} has type v128, {}", where, FeatureText("simd")));
      default:
        return Refuse(fmt::format("{} has type {}, which ringfence cannot translate", where,
                                  type.GetName()));
    }
  }

  static std::string FeatureText(std::string_view feature) {
    return fmt::format("of the wasm feature '{}', which ringfence cannot translate to C", feature);
  }

  static bool IsConstantInstruction(wabt::Opcode opcode) {
    switch (opcode) {
      case wabt::Opcode::I32Const:
      case wabt::Opcode::I64Const:
      case wabt::Opcode::F32Const:
      case wabt::Opcode::F64Const:
      case wabt::Opcode::GlobalGet:
      case wabt::Opcode::RefNull:
      case wabt::Opcode::RefFunc:
      case wabt::Opcode::End:
        return true;
      default:
        return false;
    }
  }
  wabt::Result BeginInitExpr() {
    in_init_expr_ = true;
    return wabt::Result::Ok;
  }
  wabt::Result EndInitExpr() {
    in_init_expr_ = false;
    return wabt::Result::Ok;
  }

  wabt::Result Enter(wabt::Type sig) {
    if (!sig.IsIndex() && sig != wabt::Type::Void) {
      CHECK_TYPE(sig, fmt::format("a block of function {}", function_));
    }
    if (++depth_ > static_cast<int64_t>(kMaxNesting)) {
      return Refuse(fmt::format("function {} nests blocks more than {} deep", function_, kMaxNesting));
    }
    return wabt::Result::Ok;
  }

  wabt::Result AddFunctions(uint64_t count) {
    functions_ += count;
    return Count(functions_, kMaxFunctions, "functions");
  }
  wabt::Result AddGlobals(uint64_t count) {
    globals_ += count;
    return Count(globals_, kMaxGlobals, "globals");
  }
  wabt::Result AddTables(uint64_t count) {
    tables_ += count;
    return Count(tables_, kMaxTables, "tables");
  }
  wabt::Result AddMemory(const wabt::Limits& limits) {
    if (limits.is_shared) return Feature("threads");
    if (limits.is_64) return Feature("memory64");
    if (++memories_ > 1) return Feature("multi-memory");
    return wabt::Result::Ok;
  }

  wabt::Result Count(uint64_t count, uint64_t limit, std::string_view what) {
    if (count <= limit) return wabt::Result::Ok;
    return Refuse(fmt::format("{} {} (the limit is {})", count, what, limit));
  }
  wabt::Result Feature(std::string_view feature) {
    return Refuse(fmt::format("uses {}", FeatureText(feature)));
  }
  wabt::Result Refuse(std::string what) {
    if (!refusal_) {
      refusal_ = fmt::format("at byte {}: {} (see the limits in docs/module-authoring.md)",
                             state->offset, what);
    }
    return wabt::Result::Error;
  }
  std::optional<std::string> refusal_;
  std::optional<std::string> parse_error_;
  uint64_t functions_ = 0;
  uint64_t globals_ = 0;
  uint64_t tables_ = 0;
  uint64_t memories_ = 0;
  wabt::Index function_ = 0;
  uint64_t locals_ = 0;
  int64_t depth_ = 0;
  bool in_init_expr_ = false;
};

#undef CHECK_TYPE

}  // namespace

Status CheckWasmFileSize(uint64_t bytes, const std::string& origin) {
  if (bytes <= kMaxWasmFileBytes) return Status::Ok();
  return Status(StatusCode::kBuildFailed,
                fmt::format("{}: {} bytes is larger than a module may be ({} bytes)", origin,
                            bytes, kMaxWasmFileBytes));
}

Status CheckWasmLimits(std::span<const uint8_t> wasm, const std::string& origin) {
  RF_RETURN_IF_ERROR(CheckWasmFileSize(wasm.size(), origin));
  // Every feature wabt knows, so that one outside TranslatableFeatures() is
  // named rather than reported as an unknown opcode.
  wabt::Features all;
  all.EnableAll();
  wabt::ReadBinaryOptions options(all, nullptr, /*read_debug_names=*/false,
                                  /*stop_on_first_error=*/true,
                                  /*fail_on_custom_section_error=*/false);
  LimitsReader reader;
  wabt::Result result = wabt::ReadBinary(wasm.data(), wasm.size(), &reader, options);
  if (reader.refusal()) {
    return Status(StatusCode::kBuildFailed, fmt::format("{}: {}", origin, *reader.refusal()));
  }
  if (wabt::Failed(result)) {
    return Status(StatusCode::kBuildFailed,
                  fmt::format("{}: not a valid wasm module: {}", origin,
                              reader.parse_error().value_or("unreadable")));
  }
  return Status::Ok();
}

}  // namespace ringfence::internal
