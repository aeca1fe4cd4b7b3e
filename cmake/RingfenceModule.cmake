# ringfence_add_module(<name> SOURCES <file>... [NATIVE] [INCLUDE_DIRS <dir>...]
#                      [DEFINES <NAME[=VALUE]>...] [OPT_LEVEL <0|1|2|3|s|z>]
#                      [OUTPUT_DIR <dir>] [MODULE_NAME <module name>])
#
# Builds <name>.rfm from C/C++ sources (or one .wasm) with `ringfence build`
# and adds a target <name> that is built by default. With NATIVE the sources
# are built natively for the process backend (`ringfence build --native`).
# MODULE_NAME is the name inside the module file (default: <name>), e.g.
#   ringfence_add_module(calc_native SOURCES calc.c NATIVE MODULE_NAME calc) The module file's path
# is the target's RINGFENCE_MODULE_FILE property:
#   $<TARGET_PROPERTY:<name>,RINGFENCE_MODULE_FILE>
# The `ringfence` executable used is the target ringfence::cli.
function(ringfence_add_module name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "NATIVE" "OPT_LEVEL;OUTPUT_DIR;MODULE_NAME"
                        "SOURCES;INCLUDE_DIRS;DEFINES")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "ringfence_add_module(${name}): SOURCES is required")
  endif()
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  set(output ${ARG_OUTPUT_DIR}/${name}.rfm)
  set(sources)
  foreach(source IN LISTS ARG_SOURCES)
    get_filename_component(source ${source} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND sources ${source})
  endforeach()
  if(NOT ARG_MODULE_NAME)
    set(ARG_MODULE_NAME ${name})
  endif()
  set(flags --name ${ARG_MODULE_NAME})
  set(comment "Building ringfence module ${name}")
  if(ARG_NATIVE)
    list(APPEND flags --native)
    string(APPEND comment " (native)")
  endif()
  foreach(dir IN LISTS ARG_INCLUDE_DIRS)
    get_filename_component(dir ${dir} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND flags -I ${dir})
  endforeach()
  foreach(define IN LISTS ARG_DEFINES)
    list(APPEND flags -D ${define})
  endforeach()
  if(ARG_OPT_LEVEL)
    list(APPEND flags -O ${ARG_OPT_LEVEL})
  endif()
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${ARG_OUTPUT_DIR}
    COMMAND ringfence::cli build ${sources} -o ${output} ${flags} --quiet
    DEPENDS ${sources} ringfence::cli ${RINGFENCE_SDK_DEPENDS}
    COMMENT "${comment}"
    VERBATIM)
  add_custom_target(${name} ALL DEPENDS ${output})
  set_target_properties(${name} PROPERTIES RINGFENCE_MODULE_FILE ${output})
endfunction()
