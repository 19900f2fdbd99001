// Every CUDA runtime and cuBLASLt call is checked: a failure throws std::runtime_error with one line
// naming the call, the file:line and the runtime's message. Kernel launches are checked with
// TT_CUDA_CHECK_LAUNCH() right after the launch.
#pragma once
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace tt::cuda {

[[noreturn]] inline void fail_cuda(const char* call, const char* file, int line, const std::string& message) {
  throw std::runtime_error(std::string("CUDA error: ") + call + " at " + file + ":" + std::to_string(line) + ": " +
                           message);
}

inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess)
    fail_cuda(call, file, line, std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")");
}

inline void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) fail_cuda(call, file, line, std::string("cuBLAS status ") + std::to_string(status));
}

}  // namespace tt::cuda

#define TT_CUDA_CHECK(call) ::tt::cuda::check_cuda((call), #call, __FILE__, __LINE__)
#define TT_CUBLAS_CHECK(call) ::tt::cuda::check_cublas((call), #call, __FILE__, __LINE__)
#define TT_CUDA_CHECK_LAUNCH() ::tt::cuda::check_cuda(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
