// Small pieces of C source text the glue writers share.
#ifndef RINGFENCE_SRC_TOOLCHAIN_C_TEXT_H_
#define RINGFENCE_SRC_TOOLCHAIN_C_TEXT_H_

#include <string>
#include <string_view>

#include "ringfence/value.h"

namespace ringfence::internal {

// "u32", "u64", "f32" or "f64": wasm2c's C type names, and the suffix of
// the rf_slot_to_* / rf_*_to_slot conversions (ringfence/internal/slots.h).
std::string_view SlotSuffix(ValueType type);

// `text` as a C string literal (quotes, backslashes, control and non-ASCII
// bytes and '?' escaped, so no trigraph can form).
std::string CString(std::string_view text);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_C_TEXT_H_
