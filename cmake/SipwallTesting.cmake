# Helpers for declaring tests with the labels scripts/test.sh selects on:
#   unit        GoogleTest binaries, no root, no DPDK EAL   (run in release and ASan)
#   corpus      external SIP corpora through the parser     (run in release and ASan)
#   integration the real binaries on DPDK vdevs              (release only)
#   e2e         network namespaces + SIPp, needs root        (release only)
#   fuzz        short bounded libFuzzer runs                 (fuzz preset only)
include(GoogleTest)

# sipwall_unit_test(NAME src... LIBS lib...)
function(sipwall_unit_test name)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main sipwall_warnings)
  # Where the sources and the external corpora are, for tests run outside
  # ctest too; the environment variables of the same names override them.
  target_compile_definitions(${name} PRIVATE
    SIPWALL_SOURCE_DIR_DEFAULT="${CMAKE_SOURCE_DIR}" SIPWALL_TESTDATA_DEFAULT="${SIPWALL_TESTDATA}")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  gtest_discover_tests(${name}
    # One variable only: gtest_discover_tests splits a list-valued property.
    PROPERTIES LABELS unit ENVIRONMENT "SIPWALL_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()
