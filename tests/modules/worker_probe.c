/* A hand-written native module for tests/worker_test.cc: it defines the
 * native ABI's entry point itself (a module built by `ringfence build
 * --native` gets it from the generated glue) and misbehaves on request.
 * Built as a plain shared object (tests/CMakeLists.txt), not as a wasm
 * module. Export order = WorkerProbeExport in the test. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ringfence/internal/native_abi.h>

static const rf_worker_api* worker;
static int started;

static int32_t Arg(const uint64_t* args, int i) { return (int32_t)(uint32_t)args[i]; }
static uint64_t Result(int32_t value) { return (uint32_t)value; }

static void add(const uint64_t* args, uint64_t* result) {
  *result = Result(Arg(args, 0) + Arg(args, 1));
}

static void log_hello(const uint64_t* args, uint64_t* result) {
  (void)args;
  static const char kText[] = "hello from worker_probe";
  worker->log(1, kText, sizeof(kText) - 1);
  *result = 0;
}

static void print_hello(const uint64_t* args, uint64_t* result) {
  (void)args;
  printf("worker_probe says hello on stdout\n");
  *result = 0;
}

/* A frame of its own (not inlined), so the crash's backtrace starts with a
 * return address inside this module. The local on the stack makes gcc set
 * up the frame pointer too: it leaves it out of a leaf that uses no stack,
 * even with -fno-omit-frame-pointer. */
__attribute__((noinline)) static void WriteNull(volatile int* where) {
  volatile int value = 1;
  *where = value;
}

/* Read at run time: a constant would let gcc warn about (and specialise
 * WriteNull for) the write it sees coming. */
static volatile int* volatile unmapped_address = (volatile int*)16;

static void crash_segv(const uint64_t* args, uint64_t* result) {
  (void)args;
  WriteNull(unmapped_address);
  *result = 0;
}

static void crash_abort(const uint64_t* args, uint64_t* result) {
  (void)args;
  (void)result;
  abort();
}

static void do_open(const uint64_t* args, uint64_t* result) {
  (void)args;
  *result = Result(open("/etc/passwd", O_RDONLY));
}

static void do_socket(const uint64_t* args, uint64_t* result) {
  (void)args;
  *result = Result(socket(AF_INET, SOCK_STREAM, 0));
}

static void do_fork(const uint64_t* args, uint64_t* result) {
  (void)args;
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  *result = Result(pid);
}

static void do_execve(const uint64_t* args, uint64_t* result) {
  (void)args;
  char* argv[] = {"/bin/true", NULL};
  char* envp[] = {NULL};
  *result = Result(execve("/bin/true", argv, envp));
}

static void do_kill_init(const uint64_t* args, uint64_t* result) {
  (void)args;
  *result = Result(kill(1, 0));
}

static void spin_forever(const uint64_t* args, uint64_t* result) {
  (void)args;
  (void)result;
  for (volatile uint64_t i = 0;; ++i) {
  }
}

static void* ThreadBody(void* argument) { return (void*)((uintptr_t)argument * 2); }

/* A thread (clone with CLONE_THREAD) runs and is joined: 2 * args[0]. */
static void run_thread(const uint64_t* args, uint64_t* result) {
  pthread_t thread;
  void* value = NULL;
  if (pthread_create(&thread, NULL, ThreadBody, (void*)(uintptr_t)Arg(args, 0)) != 0 ||
      pthread_join(thread, &value) != 0) {
    *result = Result(-1);
    return;
  }
  *result = Result((int32_t)(uintptr_t)value);
}

/* 1 if `args[0]` MiB could be allocated and touched, else 0. */
static void try_malloc(const uint64_t* args, uint64_t* result) {
  size_t bytes = (size_t)Arg(args, 0) << 20;
  /* volatile: a compiler may drop a malloc whose memory is never read. */
  char* volatile memory = malloc(bytes);
  if (memory == NULL) {
    *result = 0;
    return;
  }
  for (size_t i = 0; i < bytes; i += 4096) memory[i] = 1;
  free(memory);
  *result = 1;
}

/* The int32 at address args[0] (a shared region mapped by the worker). */
static void read_word(const uint64_t* args, uint64_t* result) {
  *result = Result(*(volatile int32_t*)(uintptr_t)(uint32_t)Arg(args, 0));
}

static void was_started(const uint64_t* args, uint64_t* result) {
  (void)args;
  *result = Result(started);
}

static void Start(void) { started = 1; }

static const rf_native_export kExports[] = {
    {"add", "ii", "i", add},
    {"log_hello", "", "i", log_hello},
    {"print_hello", "", "i", print_hello},
    {"crash_segv", "", "i", crash_segv},
    {"crash_abort", "", "i", crash_abort},
    {"do_open", "", "i", do_open},
    {"do_socket", "", "i", do_socket},
    {"do_fork", "", "i", do_fork},
    {"do_execve", "", "i", do_execve},
    {"do_kill_init", "", "i", do_kill_init},
    {"spin_forever", "", "i", spin_forever},
    {"run_thread", "i", "i", run_thread},
    {"try_malloc", "i", "i", try_malloc},
    {"read_word", "i", "i", read_word},
    {"was_started", "", "i", was_started},
};

static const rf_native_module kModule = {
    RF_NATIVE_ABI_VERSION, "worker_probe", sizeof(kExports) / sizeof(kExports[0]), kExports, 0,
    Start,
};

__attribute__((visibility("default"))) const rf_native_module* ringfence_native_module_v1(
    const rf_worker_api* api) {
  if (api->abi_version != RF_NATIVE_ABI_VERSION) return NULL;
  /* The entry is module code: it runs under the final filter, where
   * opening the file $RINGFENCE_TEST_MARKER is denied (the worker dies of
   * SIGSYS and the file never appears). */
  const char* marker = getenv("RINGFENCE_TEST_MARKER");
  if (marker != NULL) {
    int fd = open(marker, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
  }
  worker = api;
  return &kModule;
}
