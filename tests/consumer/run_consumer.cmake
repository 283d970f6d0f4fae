# Configures, builds and runs the consumer project of tests/consumer/project one way:
#   MODE = add_subdirectory | fetchcontent | find_package | pkgconfig | find_package_dispatch
# find_package, pkgconfig and find_package_dispatch first install xact from XACT_SOURCE_DIR into
# WORK_DIR/prefix (the last with the compiled xact::dispatch library, which the consumer then
# links and runs).
cmake_minimum_required(VERSION 3.16)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

set(dispatch OFF)
if(MODE STREQUAL "find_package_dispatch")
  set(dispatch ON)
endif()
if(MODE MATCHES "^find_package" OR MODE STREQUAL "pkgconfig")
  run(${CMAKE_COMMAND} -S ${XACT_SOURCE_DIR} -B ${WORK_DIR}/xact-build -G ${GENERATOR}
      -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_INSTALL_PREFIX=${prefix} -DCMAKE_BUILD_TYPE=Release
      -DXACT_BUILD_TESTS=OFF -DXACT_BUILD_BENCHMARKS=OFF -DXACT_BUILD_EXAMPLES=OFF
      -DXACT_BUILD_TOOLS=OFF -DXACT_BUILD_DISPATCH=${dispatch})
  if(dispatch)
    run(${CMAKE_COMMAND} --build ${WORK_DIR}/xact-build --parallel 2)
  endif()
  run(${CMAKE_COMMAND} --install ${WORK_DIR}/xact-build)
  foreach(f include/xact/xact.hpp share/cmake/xact/xactConfig.cmake
            share/cmake/xact/xactConfigVersion.cmake share/cmake/xact/xactTargets.cmake
            share/pkgconfig/xact.pc)
    if(NOT EXISTS ${prefix}/${f})
      message(FATAL_ERROR "install is missing ${f}")
    endif()
  endforeach()
endif()

if(MODE STREQUAL "pkgconfig")
  set(ENV{PKG_CONFIG_PATH} ${prefix}/share/pkgconfig)
  execute_process(COMMAND ${PKG_CONFIG} --cflags xact RESULT_VARIABLE rc
                  OUTPUT_VARIABLE cflags ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags xact failed: ${err}")
  endif()
  execute_process(COMMAND ${PKG_CONFIG} --modversion xact OUTPUT_VARIABLE version
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  message(STATUS "pkg-config: xact ${version}, cflags: ${cflags}")
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  run(${CXX} -std=c++17 ${cflags} ${CONSUMER_DIR}/main.cpp -o ${WORK_DIR}/consumer)
  run(${WORK_DIR}/consumer)
  return()
endif()

set(args -DXACT_MODE=${MODE} -DXACT_SOURCE_DIR=${XACT_SOURCE_DIR} -DXACT_WITH_DISPATCH=${dispatch})
if(MODE MATCHES "^find_package")
  list(APPEND args -DCMAKE_PREFIX_PATH=${prefix})
endif()
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX} ${args})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
if(dispatch)
  run(${WORK_DIR}/build/consumer_dispatch)
endif()
