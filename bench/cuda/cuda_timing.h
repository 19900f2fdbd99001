// Timing for the CUDA benchmarks: milliseconds per call, measured with CUDA events on the default
// stream after one warm-up call.
#pragma once
#include <cuda_runtime_api.h>

#include <functional>

#include "kernels/cuda/check.h"

namespace tt::cuda::bench {

inline double time_ms(int repeats, const std::function<void()>& fn) {
  fn();
  cudaEvent_t start, stop;
  TT_CUDA_CHECK(cudaEventCreate(&start));
  TT_CUDA_CHECK(cudaEventCreate(&stop));
  TT_CUDA_CHECK(cudaEventRecord(start));
  for (int i = 0; i < repeats; ++i) fn();
  TT_CUDA_CHECK(cudaEventRecord(stop));
  TT_CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  TT_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms / repeats;
}

}  // namespace tt::cuda::bench
