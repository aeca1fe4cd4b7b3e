# Install rules and the package config behind find_package(ringfence).
#
#   cmake --install build --prefix P
#
# installs
#   P/bin/ringfence                                 the CLI
#   P/libexec/ringfence/ringfence-worker            the process backend's worker
#                                                   (src/process/worker_path.cc)
#   P/lib/libringfence.a, libringfence_toolchain.a  exported as ringfence::ringfence,
#                                                   ringfence::ringfence_toolchain
#   P/include/ringfence/{,internal/}*.h             the host API (and module_abi.h,
#                                                   which it includes)
#   P/share/ringfence/sdk/...                       the module SDK, where an installed
#                                                   `ringfence build` looks for it
#                                                   (src/toolchain/sdk_paths.cc)
#   P/share/ringfence/modules/*.rfm                 the example modules, where
#                                                   `ringfence demo` and `bench` look
#                                                   (tools/ringfence/module_dir.cc)
#   P/lib/cmake/ringfence/                          ringfenceConfig.cmake, the targets
#                                                   file, RingfenceModule.cmake
#
# A consumer writes
#   find_package(ringfence REQUIRED)
#   ringfence_add_module(calc SOURCES calc.c)
#   target_link_libraries(host PRIVATE ringfence::ringfence)
include(CMakePackageConfigHelpers)

set(RINGFENCE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/ringfence)
set(RINGFENCE_INSTALL_SDKDIR ${CMAKE_INSTALL_DATADIR}/ringfence/sdk)
set(RINGFENCE_INSTALL_MODULEDIR ${CMAKE_INSTALL_DATADIR}/ringfence/modules)

# Exported targets must not name source- or build-tree paths: the libraries'
# tree-only include directories are wrapped in $<BUILD_INTERFACE:...> in the
# top CMakeLists.txt (install(EXPORT) fails at configure time otherwise).

# The CLI. Its own libraries (commands, bench figures, native examples) are
# linked into it and not installed.
install(TARGETS ringfence-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT ringfence)
install(TARGETS ringfence-worker
        RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/ringfence COMPONENT ringfence)

# The libraries, exported. Their PRIVATE dependencies (fmt, nlohmann_json,
# OpenSSL::Crypto, libwabt; the toolchain's libLLVM-14 and libelf, by path) appear in the targets file as $<LINK_ONLY:...>:
# a static library needs them when the consumer links, so the package config
# finds them again (find_dependency).
install(TARGETS ringfence ringfence_toolchain
        EXPORT ringfenceTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT ringfence)
install(EXPORT ringfenceTargets
        NAMESPACE ringfence::
        DESTINATION ${RINGFENCE_INSTALL_CMAKEDIR}
        COMPONENT ringfence)

# Public headers. The inline call path (ringfence/internal/thread_gate.h)
# includes ringfence/internal/gate_abi.h (kept in the SDK, shared with module
# code): it goes beside thread_gate.h. Nothing public includes module_abi.h
# (nor, through it, wabt's wasm-rt.h).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ringfence
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT ringfence
        FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_SOURCE_DIR}/sdk/include/ringfence/internal/gate_abi.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ringfence/internal
        COMPONENT ringfence)

# The module SDK, in the layout FindSdk() expects beside an installed binary.
set(RINGFENCE_SDK_FILES
  include/ringfence/module.h
  include/ringfence/internal/gate_abi.h
  include/ringfence/internal/module_abi.h
  include/ringfence/internal/frame_walk.h
  include/ringfence/internal/native_abi.h
  include/ringfence/internal/slots.h
  runtime/module_shim.c
  runtime/native_module_shim.c
  runtime/module_gate.h
  runtime/native_services.c)
foreach(_rf_file IN LISTS RINGFENCE_SDK_FILES)
  get_filename_component(_rf_subdir ${_rf_file} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/sdk/${_rf_file}
          DESTINATION ${RINGFENCE_INSTALL_SDKDIR}/${_rf_subdir}
          COMPONENT ringfence)
endforeach()

# The example modules, built into ${RINGFENCE_MODULE_DIR} (examples/).
install(DIRECTORY ${RINGFENCE_MODULE_DIR}/
        DESTINATION ${RINGFENCE_INSTALL_MODULEDIR}
        COMPONENT ringfence
        FILES_MATCHING PATTERN "*.rfm")

# The package config, its version file and ringfence_add_module().
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/ringfenceConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/ringfenceConfig.cmake
  INSTALL_DESTINATION ${RINGFENCE_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_BINDIR RINGFENCE_INSTALL_SDKDIR RINGFENCE_INSTALL_MODULEDIR)
# 0.x: a new minor version may change the API and the module ABI.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/ringfenceConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
          ${PROJECT_BINARY_DIR}/cmake/ringfenceConfig.cmake
          ${PROJECT_BINARY_DIR}/cmake/ringfenceConfigVersion.cmake
          ${CMAKE_CURRENT_LIST_DIR}/RingfenceModule.cmake
        DESTINATION ${RINGFENCE_INSTALL_CMAKEDIR}
        COMPONENT ringfence)
