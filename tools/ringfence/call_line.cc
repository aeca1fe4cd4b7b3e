#include "tools/ringfence/call_line.h"

#include <sstream>

#include <fmt/format.h>

#include "tools/ringfence/value_text.h"

namespace ringfence::cli {

CallLineWords SplitCallLine(std::string_view line) {
  std::istringstream words{std::string(line)};
  CallLineWords result;
  words >> result.export_name;
  for (std::string word; words >> word;) result.args.push_back(std::move(word));
  return result;
}

StatusOr<std::vector<Value>> ParseArguments(std::string_view export_name,
                                            const Signature& signature,
                                            const std::vector<std::string>& texts) {
  if (texts.size() != signature.params.size()) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{} takes {} argument(s) {}, got {}", export_name,
                              signature.params.size(), signature.ToString(), texts.size()));
  }
  std::vector<Value> args;
  for (size_t i = 0; i < texts.size(); ++i) {
    StatusOr<Value> value = ParseValue(texts[i], signature.params[i]);
    if (!value.ok()) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("argument {} of {}: {}", i + 1, export_name,
                                value.status().message()));
    }
    args.push_back(*value);
  }
  return args;
}

}  // namespace ringfence::cli
