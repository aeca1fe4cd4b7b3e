// Values as text, for the CLI: parsing arguments and printing results.
//
// Integers print as signed decimal. Floats print in the shortest form that
// parses back to the same bits; NaNs print as "nan" / "-nan" when canonical
// and as "nan:0x<payload>" (wat notation) otherwise, so every bit pattern
// survives a round trip.
#ifndef RINGFENCE_TOOLS_RINGFENCE_VALUE_TEXT_H_
#define RINGFENCE_TOOLS_RINGFENCE_VALUE_TEXT_H_

#include <string>
#include <string_view>

#include "ringfence/status.h"
#include "ringfence/value.h"

namespace ringfence::cli {

// Accepts decimal (signed, or unsigned up to the type's width) and 0x hex for
// integers; decimal, exponent, inf, nan and nan:0x... for floats.
// kInvalidArgument with a message naming the type otherwise.
StatusOr<Value> ParseValue(std::string_view text, ValueType type);

std::string FormatValue(const Value& value);

}  // namespace ringfence::cli

#endif  // RINGFENCE_TOOLS_RINGFENCE_VALUE_TEXT_H_
