# Warnings and sanitizers for Vigil's own targets (never for third-party code).
set(VIGIL_WARNINGS -Wall -Wextra -Werror -Wno-unused-parameter)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports std::variant and std::optional members moved out of a Result as "maybe
  # uninitialized" at -O2; the sanitizer build catches real uses of uninitialized memory.
  list(APPEND VIGIL_WARNINGS -Wno-maybe-uninitialized)
endif()

set(VIGIL_SANITIZER_FLAGS "")
if(VIGIL_SANITIZE)
  set(VIGIL_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
                            -fno-sanitize-recover=undefined)
endif()

function(vigil_apply_options target)
  target_compile_options(${target} PRIVATE ${VIGIL_WARNINGS} ${VIGIL_SANITIZER_FLAGS})
  if(VIGIL_SANITIZER_FLAGS)
    target_link_options(${target} PRIVATE ${VIGIL_SANITIZER_FLAGS})
  endif()
endfunction()
