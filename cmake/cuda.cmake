# The CUDA backend: a plugin library (libtinythink_cuda.so) that the binary dlopen()s when a device
# is chosen, so `tinythink` itself never links the CUDA runtime and runs every CPU path on a machine
# with no toolkit, driver or GPU. TT_CUDA=AUTO builds the plugin when the toolkit is found, ON
# requires it, OFF skips it.
#
# TT_CUDA_ARCHS: the architectures to build (release: 80;86;89;90;120 with PTX of the newest, so a
# future card JITs). CI sets one architecture (e.g. -DTT_CUDA_ARCHS=80) to save time: every .cu file
# is still compiled, so a compile error still fails CI.
set(TT_CUDA AUTO CACHE STRING "build the CUDA backend: AUTO (when the toolkit is found), ON, OFF")
set_property(CACHE TT_CUDA PROPERTY STRINGS AUTO ON OFF)
set(TT_CUDA_ARCHS "80-real;86-real;89-real;90-real;120-real;120-virtual" CACHE STRING
    "CUDA architectures of the plugin (CMAKE_CUDA_ARCHITECTURES syntax)")
set(TT_CUDA_ENABLED OFF)

if(NOT TT_CUDA STREQUAL "OFF")
  # nvcc is often not on PATH: look in the standard prefix too.
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit)
  endif()
  if(CMAKE_CUDA_COMPILER AND CUDAToolkit_FOUND AND TARGET CUDA::cublasLt)
    set(TT_CUDA_ENABLED ON)
  elseif(TT_CUDA STREQUAL "ON")
    message(FATAL_ERROR "TT_CUDA=ON but no CUDA toolkit with nvcc and cuBLASLt was found "
                        "(set -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)")
  else()
    message(STATUS "CUDA backend: off (no CUDA toolkit found)")
  endif()
endif()

if(TT_CUDA_ENABLED)
  message(STATUS "CUDA backend: on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, archs ${TT_CUDA_ARCHS})")
  # CMake 3.25 does not know nvcc 12+'s C++20 flag; the targets inherit C++20 from CMAKE_CXX_STANDARD.
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA_EXTENSIONS OFF)
  file(GLOB TT_CUDA_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/kernels/cuda/*.cu
       ${CMAKE_SOURCE_DIR}/src/kernels/cuda/*.cpp)
  list(FILTER TT_CUDA_SOURCES EXCLUDE REGEX "_test\\.cpp$")
  add_library(tinythink_cuda SHARED ${TT_CUDA_SOURCES})
  set_target_properties(tinythink_cuda PROPERTIES CUDA_ARCHITECTURES "${TT_CUDA_ARCHS}"
                        CUDA_SEPARABLE_COMPILATION OFF POSITION_INDEPENDENT_CODE ON)
  # Same include root as the kernels layer: kernels/ and core/ headers, nothing above.
  target_include_directories(tinythink_cuda PUBLIC ${TT_LAYER_ROOT}/kernels)
  target_compile_options(tinythink_cuda PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-Wall -lineinfo>)
  target_link_libraries(tinythink_cuda PUBLIC CUDA::cudart CUDA::cublasLt fmt::fmt)
  # The plugin is dlopened: a symbol it uses but nobody defines would only fail at load time on a GPU
  # machine. Refuse it at link time instead.
  target_link_options(tinythink_cuda PRIVATE -Wl,--no-undefined)
  # NCCL (issue 19: collectives over the GPU ranks, kernels/device_collectives.h) lives in the plugin,
  # so the binary never links it; the plugin compiles against nccl.h (the toolkit here ships it) and
  # dlopens libnccl.so.2 on the first NCCL call, so it does not link it either (200+ MB that a GPU
  # bundle would otherwise carry). Without nccl.h the plugin's NCCL entry points answer with the reason.
  find_path(TT_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  if(TT_NCCL_INCLUDE_DIR)
    message(STATUS "NCCL: ${TT_NCCL_INCLUDE_DIR}/nccl.h (libnccl.so.2 loaded at run time)")
    target_include_directories(tinythink_cuda PRIVATE ${TT_NCCL_INCLUDE_DIR})
    target_link_libraries(tinythink_cuda PRIVATE ${CMAKE_DL_LIBS})
    set(TT_HAVE_NCCL 1)
  else()
    message(STATUS "NCCL: nccl.h not found (the CUDA plugin has no multi-GPU collectives)")
    set(TT_HAVE_NCCL 0)
  endif()
  set_source_files_properties(${CMAKE_SOURCE_DIR}/src/kernels/cuda/nccl_communicator.cpp PROPERTIES
                              COMPILE_DEFINITIONS TT_HAVE_NCCL=${TT_HAVE_NCCL})
  add_dependencies(tinythink tinythink_cuda)

  # The kernel parity tests (ctest -L cuda): each CUDA kernel against the CPU one. On a machine
  # without a GPU every test reports SKIPPED.
  file(GLOB TT_CUDA_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/kernels/cuda/*_test.cpp)
  list(FILTER TT_CUDA_TEST_SOURCES EXCLUDE REGEX "_emulated_test\\.cpp$")  # in tinythink_tests
  add_executable(tinythink_cuda_tests ${TT_CUDA_TEST_SOURCES})
  target_include_directories(tinythink_cuda_tests PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR})
  target_link_libraries(tinythink_cuda_tests PRIVATE tinythink_cuda tt_train tt_infer tt_kernels GTest::gtest GTest::gtest_main)
  target_compile_definitions(tinythink_cuda_tests PRIVATE TT_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
                             TT_BINARY="$<TARGET_FILE:tinythink>")
  gtest_discover_tests(tinythink_cuda_tests DISCOVERY_TIMEOUT 60 TEST_PREFIX "cuda."
                       PROPERTIES LABELS cuda ENVIRONMENT "OMP_WAIT_POLICY=passive")
endif()

if(TT_CUDA_ENABLED)
  # Kernel timings on the study's shapes (scripts/gpu-check.sh).
  add_executable(tinythink_cuda_bench ${CMAKE_SOURCE_DIR}/bench/cuda/kernels_cuda_bench.cpp)
  target_link_libraries(tinythink_cuda_bench PRIVATE tinythink_cuda)
  # Decode and prefill steps of the generation kernels (scripts/gpu-check.sh).
  add_executable(tinythink_generation_bench ${CMAKE_SOURCE_DIR}/bench/cuda/generation_bench.cpp)
  target_link_libraries(tinythink_generation_bench PRIVATE tinythink_cuda)
endif()
