// Helpers of the CUDA parity tests: device buffers, poisoning, the relative error, and the skip
// when no GPU answers (the tests then report SKIPPED, never passed).
#pragma once
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cuda/check.h"
#include "tests/gradcheck.h"

namespace tt::cuda::testing {

// "" when a CUDA device answers, else why not.
inline std::string why_no_gpu() {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) return std::string("no usable CUDA device: ") + cudaGetErrorString(status);
  if (count == 0) return "no CUDA device";
  return "";
}

#define TT_REQUIRE_GPU()                                              \
  do {                                                                \
    const std::string why = ::tt::cuda::testing::why_no_gpu();        \
    if (!why.empty()) GTEST_SKIP() << why;                            \
  } while (0)

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count) {
    TT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&data_), sizeof(T) * (count ? count : 1)));
    poison();
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() { return data_; }
  size_t size() const { return count_; }
  void upload(const std::vector<T>& host) {
    TT_CUDA_CHECK(cudaMemcpy(data_, host.data(), sizeof(T) * host.size(), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(count_);
    TT_CUDA_CHECK(cudaDeviceSynchronize());
    TT_CUDA_CHECK(cudaMemcpy(host.data(), data_, sizeof(T) * count_, cudaMemcpyDeviceToHost));
    return host;
  }
  // All bytes 0xff: NaN for floats, so an output the kernel forgets to write fails the comparison.
  void poison() { TT_CUDA_CHECK(cudaMemset(data_, 0xff, sizeof(T) * (count_ ? count_ : 1))); }
  void zero() { TT_CUDA_CHECK(cudaMemset(data_, 0, sizeof(T) * (count_ ? count_ : 1))); }

 private:
  T* data_ = nullptr;
  size_t count_ = 0;
};

using ::tt::testing::random_vector;  // normal(0, scale) floats from a seed

// ||out - ref|| / ||ref|| (in double); infinity when out holds a NaN.
inline double relative_error(const std::vector<float>& out, const std::vector<float>& ref) {
  if (out.size() != ref.size()) return INFINITY;
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) return INFINITY;
    diff += (double(out[i]) - ref[i]) * (double(out[i]) - ref[i]);
    norm += double(ref[i]) * ref[i];
  }
  return norm == 0.0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

constexpr double kFp32Tolerance = 1e-5;
constexpr double kBf16Tolerance = 1e-2;

}  // namespace tt::cuda::testing
