/* lib_chatty: writes to stdout, stderr and rf_log in the shapes the host's
 * log plumbing has to split and tag: several lines in one write, a line
 * spread over two calls, every log level, and a log call whose message lies
 * outside the module's memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringfence/module.h>

/* Three lines in one printf. */
RF_EXPORT(print_lines) int32_t print_lines(void) {
  printf("one\ntwo\nthree\n");
  fflush(stdout);
  return 3;
}

/* One line to stderr. */
RF_EXPORT(print_stderr) int32_t print_stderr(void) {
  fprintf(stderr, "to stderr\n");
  return 1;
}

/* The start of a line, without its newline. */
RF_EXPORT(print_start) int32_t print_start(void) {
  printf("first half, ");
  fflush(stdout);
  return 0;
}

/* The end of the line print_start began. */
RF_EXPORT(print_end) int32_t print_end(void) {
  printf("second half\n");
  fflush(stdout);
  return 0;
}

/* One rf_log message per level. */
RF_EXPORT(log_levels) int32_t log_levels(void) {
  rf_log_str(RF_LOG_DEBUG, "debug message");
  rf_log_str(RF_LOG_INFO, "info message");
  rf_log_str(RF_LOG_WARN, "warn message");
  rf_log_str(RF_LOG_ERROR, "error message");
  return 4;
}

/* rf_log with a message outside the module's memory: the host must drop it
 * (the module's mistake), and the call must go on. */
RF_EXPORT(log_bad_pointer) int32_t log_bad_pointer(void) {
  rf_log(RF_LOG_INFO, (const char*)(uintptr_t)0xfffffff0u, 64);
  rf_log(RF_LOG_INFO, (const char*)(uintptr_t)16, 0xffffffffu);
  rf_log_str(RF_LOG_INFO, "still here");
  return 7;
}

/* One write(2) of `bytes` bytes with no newline from a buffer in the module's
 * memory; returns what write() reported. */
#include <unistd.h>
static char g_big[4 << 20];
RF_EXPORT(write_big) int32_t write_big(int32_t bytes) {
  if (bytes < 0 || bytes > (int32_t)sizeof g_big) return -2;
  for (int32_t i = 0; i < bytes; ++i) g_big[i] = 'x';
  return (int32_t)write(1, g_big, (size_t)bytes);
}

/* One rf_log call with a message of `bytes` bytes (up to the memory limit):
 * the host logs a bounded prefix. Returns 1, or 0 if malloc failed. */
RF_EXPORT(log_huge) int32_t log_huge(uint32_t bytes) {
  char* message = (char*)malloc(bytes);
  if (message == NULL) return 0;
  memset(message, 'x', bytes);
  rf_log(RF_LOG_INFO, message, bytes);
  free(message);
  return 1;
}
