# Installs a built ringfence tree into a scratch prefix and checks that the
# result is usable on its own terms: a consumer project finds the package,
# builds a module with ringfence_add_module() and the installed CLI, links a
# host against ringfence::ringfence, and runs it; the installed CLI builds
# from the installed SDK and `ringfence demo` finds the installed modules.
#
#   cmake -DRINGFENCE_BUILD_DIR=<build> -DWORK_DIR=<scratch>
#         [-DCONSUMER_C_COMPILER=..] [-DCONSUMER_CXX_COMPILER=..]
#         [-DCONSUMER_C_FLAGS=..] [-DCONSUMER_CXX_FLAGS=..] [-DCONSUMER_EXE_LINKER_FLAGS=..]
#         [-DCONSUMER_GENERATOR=Ninja]
#         -P cmake/InstallTest.cmake
#
# Needs a complete build (cmake --install does not build). WORK_DIR is
# emptied first. Takes a few seconds. As a ctest (tests/CMakeLists.txt):
#
#   add_test(NAME install_consumer
#            COMMAND ${CMAKE_COMMAND}
#              -DRINGFENCE_BUILD_DIR=${PROJECT_BINARY_DIR}
#              -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/install-test
#              -DCONSUMER_C_COMPILER=${CMAKE_C_COMPILER}
#              -DCONSUMER_CXX_COMPILER=${CMAKE_CXX_COMPILER}
#              "-DCONSUMER_C_FLAGS=${CMAKE_C_FLAGS}"
#              "-DCONSUMER_CXX_FLAGS=${CMAKE_CXX_FLAGS}"
#              "-DCONSUMER_EXE_LINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS}"
#              -P ${PROJECT_SOURCE_DIR}/cmake/InstallTest.cmake)
#   set_tests_properties(install_consumer PROPERTIES TIMEOUT 300)
cmake_minimum_required(VERSION 3.25)

foreach(required RINGFENCE_BUILD_DIR WORK_DIR)
  if(NOT ${required})
    message(FATAL_ERROR "InstallTest: -D${required}=... is required")
  endif()
endforeach()
if(NOT CONSUMER_GENERATOR)
  set(CONSUMER_GENERATOR Ninja)
endif()

set(prefix ${WORK_DIR}/prefix)
set(consumer ${WORK_DIR}/consumer)
set(consumer_build ${WORK_DIR}/consumer-build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${consumer})

# Runs a command; fails the test with its output unless it exits 0.
# Output goes to <out_var> (stdout) and <out_var>_ERR (stderr).
function(run out_var)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT code EQUAL 0)
    string(REPLACE ";" " " line "${ARGN}")
    message(FATAL_ERROR "InstallTest: `${line}` failed (${code})\n--- stdout\n${out}\n--- stderr\n${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
  set(${out_var}_ERR "${err}" PARENT_SCOPE)
endfunction()

function(expect_contains text part what)
  string(FIND "${text}" "${part}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "InstallTest: ${what}: expected `${part}` in:\n${text}")
  endif()
endfunction()

function(expect_match text regex what)
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "InstallTest: ${what}: expected to match `${regex}`, got:\n${text}")
  endif()
endfunction()

# 1. Install.
run(ignored ${CMAKE_COMMAND} --install ${RINGFENCE_BUILD_DIR} --prefix ${prefix})
foreach(file
    bin/ringfence
    libexec/ringfence/ringfence-worker
    include/ringfence/compartment.h
    include/ringfence/module_builder.h
    include/ringfence/internal/thread_gate.h
    include/ringfence/internal/gate_abi.h
    share/ringfence/sdk/include/ringfence/module.h
    share/ringfence/sdk/include/ringfence/internal/module_abi.h
    share/ringfence/sdk/include/ringfence/internal/gate_abi.h
    share/ringfence/sdk/include/ringfence/internal/frame_walk.h
    share/ringfence/sdk/runtime/module_shim.c
    share/ringfence/sdk/runtime/module_gate.h
    share/ringfence/sdk/runtime/native_services.c
    share/ringfence/modules/calc.rfm
    share/ringfence/modules/misbehave.rfm)
  if(NOT EXISTS ${prefix}/${file})
    message(FATAL_ERROR "InstallTest: ${prefix}/${file} was not installed")
  endif()
endforeach()
# The library directory is lib/ or lib/<multiarch>/ (GNUInstallDirs).
foreach(file libringfence.a libringfence_toolchain.a cmake/ringfence/ringfenceConfig.cmake
        cmake/ringfence/ringfenceConfigVersion.cmake cmake/ringfence/ringfenceTargets.cmake
        cmake/ringfence/RingfenceModule.cmake)
  file(GLOB_RECURSE found ${prefix}/lib*/${file})
  if(NOT found)
    message(FATAL_ERROR "InstallTest: ${file} was not installed under ${prefix}/lib*")
  endif()
endforeach()
# The exported targets must not point back into the source or build tree.
file(GLOB_RECURSE targets_files ${prefix}/lib*/ringfenceTargets*.cmake)
get_filename_component(source_dir ${CMAKE_CURRENT_LIST_DIR} DIRECTORY)
foreach(targets_file IN LISTS targets_files)
  file(READ ${targets_file} text)
  foreach(tree ${source_dir} ${RINGFENCE_BUILD_DIR})
    string(FIND "${text}" "${tree}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "InstallTest: ${targets_file} names ${tree}")
    endif()
  endforeach()
endforeach()

# 2. The installed CLI builds from the installed SDK (not the source tree's).
file(WRITE ${WORK_DIR}/probe.c
  "#include <ringfence/module.h>\nRF_EXPORT(twice) int32_t twice(int32_t x) { return 2 * x; }\n")
run(built ${prefix}/bin/ringfence build ${WORK_DIR}/probe.c -o ${WORK_DIR}/probe.rfm --verbose)
expect_contains("${built_ERR}" "-I${prefix}/share/ringfence/sdk/runtime" "installed CLI's SDK")
run(twice ${prefix}/bin/ringfence call ${WORK_DIR}/probe.rfm twice 21)
expect_match("${twice}" "^42\n$" "ringfence call probe.rfm twice 21")

# The installed CLI runs a process-backend module in the installed worker
# (libexec/ringfence/ringfence-worker, the first place it looks).
run(native ${prefix}/bin/ringfence call ${prefix}/share/ringfence/modules/calc_native.rfm add 2 3)
expect_match("${native}" "^5\n$" "ringfence call calc_native.rfm add 2 3")

# 3. The installed demo runs. It looks in <prefix>/share/ringfence/modules
# first (checked above) and falls back to the build tree's modules, so this
# alone does not prove the lookup.
run(demo ${prefix}/bin/ringfence demo --tour --quiet-modules)
expect_contains("${demo}" "host alive: calc add 2 3 = 5" "ringfence demo --tour")
run(storm ${prefix}/bin/ringfence demo --duration 1 --json --quiet-modules)
expect_contains("${storm}" "\"lost\":0" "ringfence demo --json")
expect_contains("${storm}" "\"duplicated\":0" "ringfence demo --json")

# 4. A consumer project: find_package + ringfence_add_module + a host.
file(WRITE ${consumer}/CMakeLists.txt [=[
cmake_minimum_required(VERSION 3.25)
project(ringfence_consumer LANGUAGES C CXX)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
find_package(ringfence 0.1 REQUIRED)
ringfence_add_module(greeter SOURCES greeter.c)
add_executable(host host.cc)
target_link_libraries(host PRIVATE ringfence::ringfence)
target_compile_definitions(host PRIVATE
  GREETER_MODULE="$<TARGET_PROPERTY:greeter,RINGFENCE_MODULE_FILE>")
add_dependencies(host greeter)
]=])
file(WRITE ${consumer}/greeter.c [=[
#include <ctype.h>
#include <stdio.h>

#include <ringfence/module.h>

static char buffer_[256];

RF_EXPORT(add) int32_t add(int32_t a, int32_t b) { return a + b; }
RF_EXPORT(divide) int32_t divide(int32_t a, int32_t b) { return a / b; }
RF_EXPORT(buffer) int32_t buffer(void) { return (int32_t)(uintptr_t)buffer_; }

static int32_t calls_;
RF_EXPORT(count) int32_t count(void) { return ++calls_; }

/* Upper-cases the first `length` bytes of the buffer in place. */
RF_EXPORT(shout) int32_t shout(int32_t length) {
  if (length < 0 || length > (int32_t)sizeof buffer_) return -1;
  for (int32_t i = 0; i < length; ++i) buffer_[i] = (char)toupper((unsigned char)buffer_[i]);
  printf("shouted %d bytes\n", length);
  return length;
}
]=])
file(WRITE ${consumer}/host.cc [=[
#include <cstdint>
#include <cstdio>
#include <string>

#include <ringfence/compartment.h>
#include <ringfence/log.h>

int main() {
  using namespace ringfence;
  SetLogSink([](const LogRecord& r) {
    std::printf("log [%.*s] %.*s\n", int(r.module.size()), r.module.data(), int(r.message.size()),
                r.message.data());
  });
  StatusOr<std::shared_ptr<const Module>> module = Module::Load(GREETER_MODULE);
  if (!module.ok()) { std::fprintf(stderr, "%s\n", module.status().ToString().c_str()); return 1; }
  StatusOr<std::unique_ptr<Compartment>> created = Compartment::Create(*module);
  if (!created.ok()) { std::fprintf(stderr, "%s\n", created.status().ToString().c_str()); return 1; }
  Compartment& greeter = **created;

  StatusOr<TypedExport<int32_t(int32_t, int32_t)>> add = greeter.GetExport<int32_t(int32_t, int32_t)>("add");
  if (!add.ok()) { std::fprintf(stderr, "%s\n", add.status().ToString().c_str()); return 1; }
  std::printf("add 2 3 = %d\n", (*add)(2, 3).value());

  greeter.Call<int32_t()>("count");
  Result<int32_t> quotient = greeter.Call<int32_t(int32_t, int32_t)>("divide", 7, 0);
  if (!quotient.trapped()) return 2;
  std::printf("%s\n", quotient.trap().ToString().c_str());
  int32_t count = greeter.Call<int32_t()>("count").value();  // runs on a fresh instance
  std::printf("count after trap = %d, restarts = %llu\n", count,
              static_cast<unsigned long long>(greeter.restart_count()));

  uint32_t buffer = static_cast<uint32_t>(greeter.Call<int32_t()>("buffer").value());
  std::string text = "hello";
  if (!greeter.window().CopyIn(buffer, text).ok()) return 3;
  Result<int32_t> length = greeter.Call<int32_t(int32_t)>("shout", static_cast<int32_t>(text.size()));
  StatusOr<std::string> loud = greeter.window().CopyOutString(buffer, static_cast<uint32_t>(length.value()));
  std::printf("shout = %s\n", loud.ok() ? loud->c_str() : "?");

  Result<std::optional<Value>> dynamic = greeter.CallDynamic("add", std::vector{Value::I32(40), Value::I32(2)});
  std::printf("dynamic add = %d\n", dynamic.ok() && dynamic.value().has_value() ? dynamic.value()->i32() : -1);
  return 0;
}
]=])

set(configure_args -S ${consumer} -B ${consumer_build} -G ${CONSUMER_GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix})
foreach(var C_COMPILER CXX_COMPILER C_FLAGS CXX_FLAGS EXE_LINKER_FLAGS)
  if(CONSUMER_${var})
    list(APPEND configure_args "-DCMAKE_${var}=${CONSUMER_${var}}")
  endif()
endforeach()
run(ignored ${CMAKE_COMMAND} ${configure_args})
run(ignored ${CMAKE_COMMAND} --build ${consumer_build})
run(host_out ${consumer_build}/host)
set(expected_lines
  "add 2 3 = 5"
  "trap: divide-by-zero in greeter.divide \\(function divide\\)"
  "count after trap = 1, restarts = 1"
  "log \\[greeter\\] shouted 5 bytes"
  "shout = HELLO"
  "dynamic add = 42")
foreach(line IN LISTS expected_lines)
  expect_match("${host_out}" "${line}" "consumer host output")
endforeach()
message(STATUS "InstallTest: ok (prefix ${prefix})")
