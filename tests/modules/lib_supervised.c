/* lib_supervised: a module with state, side effects and call classes, for
 * the supervision tests.
 *
 * State lives in the instance (lost on death, rebuilt by journal replay);
 * side effects go to the shared region "ledger" (survives deaths), whose
 * 32-bit words are: [0] poison flag, [1] fail-next flag, [2..] one counter
 * per call id. */
#include <stdlib.h>

#include <ringfence/module.h>

static int32_t g_mode;
static int32_t g_entries[16];
static int32_t g_replays_seen;
/* A digest of the state-setting calls in the order this instance ran them. */
static int32_t g_trace;

static volatile int32_t* ledger(void) {
  static volatile int32_t* words;
  if (words == 0) {
    static const char kName[] = "ledger";
    int32_t handle = rf_region_open(kName, sizeof kName - 1);
    if (handle < 0) __builtin_trap();
    words = (volatile int32_t*)(uintptr_t)(uint32_t)rf_region_offset(handle);
  }
  return words;
}

/* Sets the mode. Traps if asked for 666 while the poison flag is set: a
 * journal entry whose replay kills the fresh instance. */
RF_EXPORT(configure) int32_t configure(int32_t mode) {
  if (mode == 666 && ledger()[0] != 0) __builtin_trap();
  g_mode = mode;
  ++g_replays_seen;
  g_trace = g_trace * 31 + 1000 + mode;
  return 0;
}
RF_STATE_SETTING(configure)

RF_EXPORT(mode) int32_t mode(void) { return g_mode; }
RF_IDEMPOTENT(mode)

/* How many configure/set_entry calls this instance has run. */
RF_EXPORT(state_calls) int32_t state_calls(void) { return g_replays_seen; }

RF_EXPORT(trace) int32_t trace(void) { return g_trace; }

RF_EXPORT(set_entry) int32_t set_entry(int32_t key, int32_t value) {
  g_entries[key & 15] = value;
  ++g_replays_seen;
  g_trace = g_trace * 31 + key * 100 + value;
  return 0;
}
RF_STATE_SETTING_KEYED(set_entry, 0)

RF_EXPORT(entry) int32_t entry(int32_t key) { return g_entries[key & 15]; }
RF_IDEMPOTENT(entry)

/* A side effect per call id, then an optional crash: the effect happened,
 * the reply is lost. */
RF_EXPORT(deposit) int32_t deposit(int32_t id, int32_t crash) {
  ledger()[2 + id] += 1;
  if (crash) __builtin_trap();
  return id;
}

/* Idempotent read that traps once while the fail-next flag is set (the flag
 * is cleared first, so the retry succeeds). */
RF_EXPORT(flaky_read) int32_t flaky_read(int32_t value) {
  if (ledger()[1] != 0) {
    ledger()[1] = 0;
    __builtin_trap();
  }
  return value * 2;
}
RF_IDEMPOTENT(flaky_read)

RF_EXPORT(crash) int32_t crash(void) {
  __builtin_trap();
  return 0;
}

/* A clean stop (exit status 0) or a failing exit. */
RF_EXPORT(quit) void quit(int32_t status) { exit(status); }
