# vigil_library(NAME name SRCS ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
#   One static library per top folder, exported as vigil::name, headers included from the
#   repository root ("engine/table.h").
function(vigil_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(vigil_${ARG_NAME} STATIC ${ARG_SRCS})
  add_library(vigil::${ARG_NAME} ALIAS vigil_${ARG_NAME})
  target_include_directories(vigil_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(vigil_${ARG_NAME} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  vigil_apply_options(vigil_${ARG_NAME})
endfunction()

# vigil_test(NAME name SRCS ... [DEPS ...] [LABELS ...])
#   A GoogleTest program registered with CTest, one test per TEST() case.
function(vigil_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest GTest::gtest_main)
  target_compile_definitions(${ARG_NAME} PRIVATE
    VIGIL_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    VIGIL_BINARY_DIR="${PROJECT_BINARY_DIR}")
  vigil_apply_options(${ARG_NAME})
  gtest_discover_tests(${ARG_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
