/* lib_bad_call_class: declares a call class for an export it does not have;
 * loading it must fail with a clear error. */
#include <ringfence/module.h>

RF_EXPORT(present) int32_t present(void) { return 1; }
RF_IDEMPOTENT(absent)
