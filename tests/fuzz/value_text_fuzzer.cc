// Values as text, from anywhere: the CLI's argument parser
// (tools/ringfence/value_text.h) and its reading of `call MODULE -` lines
// (call_line.h) answer any text with values or a kInvalidArgument Status,
// never a crash; every value parsed prints as text that parses back to it,
// and every bit pattern of every type survives printing and parsing.
//
// The input is text (a value, or a line of words) followed by, read from
// its end (FuzzedDataProvider): a byte choosing the type, 8 bytes of bits
// to print, a parameter count and a type byte per parameter.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tools/ringfence/call_line.h"
#include "tools/ringfence/value_text.h"

namespace ringfence::cli {
namespace {

ValueType TypeOf(uint8_t byte) { return static_cast<ValueType>(byte % 4); }

bool Is32Bit(ValueType type) { return type == ValueType::kI32 || type == ValueType::kF32; }

// Printing `value` gives text that parses back to exactly `value`.
void CheckPrintsBack(const Value& value) {
  std::string text = FormatValue(value);
  StatusOr<Value> parsed = ParseValue(text, value.type);
  RF_CHECK(parsed.ok() && *parsed == value);
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

void CheckLine(std::string_view line, const Signature& signature) {
  CallLineWords words = SplitCallLine(line);
  RF_CHECK(!words.export_name.empty() || words.args.empty());
  std::string joined = words.export_name;
  for (const std::string& word : words.args) {
    RF_CHECK(!word.empty());
    for (char c : word) RF_CHECK(!IsSpace(c));
    joined += " " + word;
  }
  for (char c : words.export_name) RF_CHECK(!IsSpace(c));
  CallLineWords again = SplitCallLine(joined);
  RF_CHECK(again.export_name == words.export_name && again.args == words.args);

  StatusOr<std::vector<Value>> args = ParseArguments(words.export_name, signature, words.args);
  if (!args.ok()) {
    RF_CHECK(args.status().code() == StatusCode::kInvalidArgument);
    RF_CHECK(args.status().message().find(words.export_name) != std::string::npos);
    return;
  }
  RF_CHECK(args->size() == signature.params.size());
  for (size_t i = 0; i < args->size(); ++i) {
    RF_CHECK((*args)[i].type == signature.params[i]);
    CheckPrintsBack((*args)[i]);
  }
}

}  // namespace
}  // namespace ringfence::cli

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringfence;
  using namespace ringfence::cli;
  FuzzedDataProvider input(data, size);
  ValueType type = TypeOf(input.ConsumeIntegral<uint8_t>());
  uint64_t bits = input.ConsumeIntegral<uint64_t>();
  CheckPrintsBack(Value{type, Is32Bit(type) ? static_cast<uint32_t>(bits) : bits});

  Signature signature;
  size_t params = input.ConsumeIntegralInRange<size_t>(0, 6);
  for (size_t i = 0; i < params; ++i) signature.params.push_back(TypeOf(input.ConsumeIntegral<uint8_t>()));

  std::string text = input.ConsumeRemainingBytesAsString();
  StatusOr<Value> value = ParseValue(text, type);
  if (value.ok()) {
    RF_CHECK(value->type == type && (!Is32Bit(type) || value->bits <= UINT32_MAX));
    CheckPrintsBack(*value);
  } else {
    RF_CHECK(value.status().code() == StatusCode::kInvalidArgument);
  }
  CheckLine(text, signature);
  return 0;
}
