#include "kernels/cuda/train_buffers.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cuda/check.h"

namespace tt::cuda {

DeviceTrainBuffers::DeviceTrainBuffers(int64_t total, const std::vector<uint8_t>& decay_mask) : total_(total) {
  if (static_cast<int64_t>(decay_mask.size()) != total)
    throw std::runtime_error("DeviceTrainBuffers: decay mask of " + std::to_string(decay_mask.size()) +
                             " entries for " + std::to_string(total) + " parameters");
  const size_t bytes = sizeof(float) * total;
  TT_CUDA_CHECK(cudaMalloc(&params, bytes));
  TT_CUDA_CHECK(cudaMalloc(&params_bf16, sizeof(uint16_t) * total));
  TT_CUDA_CHECK(cudaMalloc(&grads, bytes));
  TT_CUDA_CHECK(cudaMalloc(&m, bytes));
  TT_CUDA_CHECK(cudaMalloc(&v, bytes));
  TT_CUDA_CHECK(cudaMalloc(&decay_mask_, total));
  TT_CUDA_CHECK(cudaMalloc(&grad_sum_sq_, sizeof(float)));
  TT_CUDA_CHECK(cudaMemcpy(decay_mask_, decay_mask.data(), total, cudaMemcpyHostToDevice));
  TT_CUDA_CHECK(cudaMemset(m, 0, bytes));
  TT_CUDA_CHECK(cudaMemset(v, 0, bytes));
  TT_CUDA_CHECK(cudaMemset(grads, 0, bytes));
}

DeviceTrainBuffers::~DeviceTrainBuffers() {
  for (void* p : {static_cast<void*>(params), static_cast<void*>(params_bf16), static_cast<void*>(grads),
                  static_cast<void*>(m), static_cast<void*>(v), static_cast<void*>(decay_mask_),
                  static_cast<void*>(grad_sum_sq_)})
    cudaFree(p);
}

void DeviceTrainBuffers::upload_parameters(const float* host) {
  TT_CUDA_CHECK(cudaMemcpy(params, host, sizeof(float) * total_, cudaMemcpyHostToDevice));
  round_to_bf16(params_bf16, params, total_, nullptr);
  TT_CUDA_CHECK(cudaDeviceSynchronize());
}

void DeviceTrainBuffers::download_parameters(float* host) const {
  TT_CUDA_CHECK(cudaDeviceSynchronize());
  TT_CUDA_CHECK(cudaMemcpy(host, params, sizeof(float) * total_, cudaMemcpyDeviceToHost));
}

void DeviceTrainBuffers::upload_moments(const float* host_m, const float* host_v, int64_t step) {
  TT_CUDA_CHECK(cudaMemcpy(m, host_m, sizeof(float) * total_, cudaMemcpyHostToDevice));
  TT_CUDA_CHECK(cudaMemcpy(v, host_v, sizeof(float) * total_, cudaMemcpyHostToDevice));
  updates_ = step;
}

void DeviceTrainBuffers::download_moments(float* host_m, float* host_v) const {
  TT_CUDA_CHECK(cudaDeviceSynchronize());
  TT_CUDA_CHECK(cudaMemcpy(host_m, m, sizeof(float) * total_, cudaMemcpyDeviceToHost));
  TT_CUDA_CHECK(cudaMemcpy(host_v, v, sizeof(float) * total_, cudaMemcpyDeviceToHost));
}

void DeviceTrainBuffers::upload_gradients(const float* host) {
  TT_CUDA_CHECK(cudaMemcpy(grads, host, sizeof(float) * total_, cudaMemcpyHostToDevice));
}

void DeviceTrainBuffers::zero_gradients(cudaStream_t stream) {
  TT_CUDA_CHECK(cudaMemsetAsync(grads, 0, sizeof(float) * total_, stream));
}

double DeviceTrainBuffers::optimizer_step(AdamWStep step, cudaStream_t stream) {
  grad_norm_squared(grad_sum_sq_, grads, total_, stream);
  // The norm reaches the host before AdamW is queued: a non-finite gradient never touches the
  // weights, the moments or the update count (the trainer stops on it with the weights intact).
  float sum_sq = 0.0f;
  TT_CUDA_CHECK(cudaMemcpyAsync(&sum_sq, grad_sum_sq_, sizeof(float), cudaMemcpyDeviceToHost, stream));
  TT_CUDA_CHECK(cudaStreamSynchronize(stream));
  const double norm = std::sqrt(static_cast<double>(sum_sq));
  if (!std::isfinite(norm)) return norm;
  step.grad_sum_sq = grad_sum_sq_;
  step.step = ++updates_;
  adamw_update(params, m, v, grads, decay_mask_, params_bf16, total_, step, stream);
  return norm;
}

size_t DeviceTrainBuffers::device_bytes() const {
  return static_cast<size_t>(total_) * (4 * sizeof(float) + sizeof(uint16_t) + 1) + sizeof(float);
}

}  // namespace tt::cuda
