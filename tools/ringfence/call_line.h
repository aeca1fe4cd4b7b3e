// The calls `ringfence call` makes from text: one stdin line of
// `call MODULE -` split into an export and its argument words, and
// argument words parsed against the export's signature.
#ifndef RINGFENCE_TOOLS_RINGFENCE_CALL_LINE_H_
#define RINGFENCE_TOOLS_RINGFENCE_CALL_LINE_H_

#include <string>
#include <string_view>
#include <vector>

#include "ringfence/status.h"
#include "ringfence/value.h"

namespace ringfence::cli {

struct CallLineWords {
  std::string export_name;  // empty for a blank line
  std::vector<std::string> args;
};

// Splits `line` at whitespace (as istream's >> does): the first word is the
// export, the rest its arguments. No word is empty or contains whitespace.
CallLineWords SplitCallLine(std::string_view line);

// The values of `texts` for `export_name` with `signature` (ParseValue per
// argument). kInvalidArgument naming the export when the count is wrong or
// an argument is not a value of its type.
StatusOr<std::vector<Value>> ParseArguments(std::string_view export_name,
                                            const Signature& signature,
                                            const std::vector<std::string>& texts);

}  // namespace ringfence::cli

#endif  // RINGFENCE_TOOLS_RINGFENCE_CALL_LINE_H_
