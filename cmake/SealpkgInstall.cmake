# Install rules: `cmake --install BUILD --prefix P` puts the component libraries (static, PIC),
# their public headers, the `sealpkg` CLI, the sandbox worker, the Python package and a CMake
# package (find_package(sealpkg) -> sealpkg::core, ::archive, ::verifier, ::signing, ::loader;
# sealpkg::sandbox with COMPONENTS sandbox) into P. Included from the top-level CMakeLists.txt
# after every component, so install(TARGETS) can name targets of the subdirectories.
#
#   P/lib/libsealpkg_<component>.a
#   P/include/sealpkg/<component>/*.h        (public headers only: */internal/* never ships)
#   P/lib/cmake/sealpkg/sealpkg{Config,ConfigVersion,Targets,SandboxTargets}.cmake
#   P/bin/sealpkg
#   P/libexec/sealpkg/sealpkg-worker
#   P/${SEALPKG_INSTALL_PYTHONDIR}/sealpkg/   (*.py, _native, sealpkg-worker next to it)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(SEALPKG_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/sealpkg" CACHE STRING
    "Where sealpkgConfig.cmake goes, relative to the prefix")
set(SEALPKG_INSTALL_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}/sealpkg")
set(SEALPKG_INSTALL_LIBEXECDIR "${CMAKE_INSTALL_LIBEXECDIR}/sealpkg")

# Libraries are static: the Python module and the worker link them statically too, and a
# consumer gets one self-contained binary with no sealpkg .so (and no RPATH) to ship or to
# hijack. Their own third-party dependencies (OpenSSL, zlib, libseccomp, Boost) stay shared and
# are found again by sealpkgConfig.cmake.
set(SEALPKG_EXPORTED_COMPONENTS core archive verifier signing loader)
set(SEALPKG_EXPORTED_TARGETS "")
foreach(component IN LISTS SEALPKG_EXPORTED_COMPONENTS ITEMS sandbox)
  if(TARGET sealpkg_${component})
    set_target_properties(sealpkg_${component} PROPERTIES EXPORT_NAME ${component})
    # The public headers include each other as "core/status.h", "verifier/policy.h", ...
    # Never shipped: <component>/internal/ (not globbed), headers named *internal*, and headers
    # for the Python bindings (pybind11 / Python.h): a consumer cannot use them, and third-party
    # types stay out of the public API.
    file(GLOB headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${component}/*.h)
    set(public_headers "")
    foreach(header IN LISTS headers)
      get_filename_component(name ${header} NAME)
      file(STRINGS ${header} python_includes REGEX "#include[ \t]*[<\"](pybind11/|Python\\.h)")
      if(NOT name MATCHES "internal" AND NOT python_includes)
        list(APPEND public_headers ${header})
      endif()
    endforeach()
    install(FILES ${public_headers} DESTINATION ${SEALPKG_INSTALL_INCLUDEDIR}/${component}
            COMPONENT sealpkg_dev)
  endif()
endforeach()
foreach(component IN LISTS SEALPKG_EXPORTED_COMPONENTS)
  if(TARGET sealpkg_${component})
    list(APPEND SEALPKG_EXPORTED_TARGETS sealpkg_${component})
  endif()
endforeach()

install(TARGETS ${SEALPKG_EXPORTED_TARGETS} EXPORT sealpkgTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sealpkg_dev
        INCLUDES DESTINATION ${SEALPKG_INSTALL_INCLUDEDIR})
install(EXPORT sealpkgTargets NAMESPACE sealpkg:: DESTINATION ${SEALPKG_INSTALL_CMAKEDIR}
        COMPONENT sealpkg_dev)
# The sandbox library needs libseccomp and Boost.Filesystem: its own export set, loaded only
# when a consumer asks for it, so verifier/signing consumers do not need those -dev packages.
install(TARGETS sealpkg_sandbox EXPORT sealpkgSandboxTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sealpkg_dev
        INCLUDES DESTINATION ${SEALPKG_INSTALL_INCLUDEDIR})
install(EXPORT sealpkgSandboxTargets NAMESPACE sealpkg:: DESTINATION ${SEALPKG_INSTALL_CMAKEDIR}
        COMPONENT sealpkg_dev)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/sealpkgConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/cmake/sealpkgConfig.cmake
                              INSTALL_DESTINATION ${SEALPKG_INSTALL_CMAKEDIR})
# 0.x: minor versions may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/sealpkgConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/sealpkgConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/sealpkgConfigVersion.cmake
        DESTINATION ${SEALPKG_INSTALL_CMAKEDIR} COMPONENT sealpkg_dev)

install(TARGETS sealpkg_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT sealpkg_runtime)

if(TARGET sealpkg_worker)
  # The CLI's sandboxed commands look for the worker here (and the Python package next to
  # sealpkg/sandbox.py, below).
  install(TARGETS sealpkg_worker RUNTIME DESTINATION ${SEALPKG_INSTALL_LIBEXECDIR}
          COMPONENT sealpkg_runtime)
endif()

if(SEALPKG_PYTHON)
  # Default: the interpreter's site directory for this prefix as Debian lays it out
  # (/usr/local/lib/python3.11/dist-packages is on /usr/bin/python3's sys.path).
  set(SEALPKG_INSTALL_PYTHONDIR
      "lib/python${Python_VERSION_MAJOR}.${Python_VERSION_MINOR}/dist-packages"
      CACHE STRING "Where the sealpkg Python package goes, relative to the prefix")
  # The installed CLI finds the installed Python package (for the sandbox worker) there.
  target_compile_definitions(sealpkg_cli
                             PRIVATE SEALPKG_INSTALL_PYTHONDIR="${SEALPKG_INSTALL_PYTHONDIR}")
  file(GLOB SEALPKG_INSTALL_PY_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/python/sealpkg/*.py
       ${PROJECT_SOURCE_DIR}/python/sealpkg/py.typed)
  install(FILES ${SEALPKG_INSTALL_PY_FILES} DESTINATION ${SEALPKG_INSTALL_PYTHONDIR}/sealpkg
          COMPONENT sealpkg_python)
  install(TARGETS sealpkg_native LIBRARY DESTINATION ${SEALPKG_INSTALL_PYTHONDIR}/sealpkg
          COMPONENT sealpkg_python)
  # sealpkg.sandbox.worker_path() looks next to the module first.
  if(TARGET sealpkg_worker)
    install(TARGETS sealpkg_worker RUNTIME DESTINATION ${SEALPKG_INSTALL_PYTHONDIR}/sealpkg
            COMPONENT sealpkg_python)
  endif()
endif()
