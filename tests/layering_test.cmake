# The build's layering, checked the way a contributor would break it: a kernels/ file that includes a
# model/ header must not compile with the kernels layer's include root, while model/ may include
# kernels/. Run by ctest (layering.upward_include_fails) with -DCXX, -DLAYER_ROOT, -DSOURCE_DIR.
set(work ${CMAKE_CURRENT_BINARY_DIR}/layering_check)
file(MAKE_DIRECTORY ${work})
file(WRITE ${work}/upward.cpp "#include \"model/config.h\"\nint main() { return 0; }\n")
file(WRITE ${work}/downward.cpp "#include \"kernels/rope_params.h\"\nint main() { return tt::RopeParams{}.head_dim; }\n")
execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -I${LAYER_ROOT}/kernels ${work}/upward.cpp
                RESULT_VARIABLE upward_rc ERROR_VARIABLE upward_err)
execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -I${LAYER_ROOT}/model ${work}/downward.cpp
                RESULT_VARIABLE downward_rc ERROR_VARIABLE downward_err)
if(upward_rc EQUAL 0)
  message(FATAL_ERROR "an upward include (kernels -> model) compiled: the layering is not enforced")
endif()
if(NOT upward_err MATCHES "model/config.h")
  message(FATAL_ERROR "the upward include failed for another reason:\n${upward_err}")
endif()
if(NOT downward_rc EQUAL 0)
  message(FATAL_ERROR "a downward include (model -> kernels) did not compile:\n${downward_err}")
endif()
message(STATUS "upward include refused, downward include compiled")
