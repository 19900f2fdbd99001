#include "kernels/cuda/train_buffers.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cuda/check.h"

namespace tt::cuda {

DeviceTrainBuffers::DeviceTrainBuffers(int64_t total, const std::vector<uint8_t>& decay_mask,
                                       const OptimizerSlice& slice)
    : total_(total), slice_(slice) {
  if (static_cast<int64_t>(decay_mask.size()) != total)
    throw std::runtime_error("DeviceTrainBuffers: decay mask of " + std::to_string(decay_mask.size()) +
                             " entries for " + std::to_string(total) + " parameters");
  if (slice.begin < 0 || slice.begin > slice.end || slice.end > total || slice.padded_total < total)
    throw std::runtime_error("DeviceTrainBuffers: optimizer slice [" + std::to_string(slice.begin) + ", " +
                             std::to_string(slice.end) + ") padded to " + std::to_string(slice.padded_total) +
                             " for " + std::to_string(total) + " parameters");
  const size_t padded_bytes = sizeof(float) * slice.padded_total, slice_bytes = sizeof(float) * slice.size();
  TT_CUDA_CHECK(cudaMalloc(&params, padded_bytes));
  TT_CUDA_CHECK(cudaMalloc(&params_bf16, sizeof(uint16_t) * total));
  TT_CUDA_CHECK(cudaMalloc(&grads, padded_bytes));
  TT_CUDA_CHECK(cudaMalloc(&m, slice_bytes ? slice_bytes : sizeof(float)));
  TT_CUDA_CHECK(cudaMalloc(&v, slice_bytes ? slice_bytes : sizeof(float)));
  TT_CUDA_CHECK(cudaMalloc(&decay_mask_, slice.size() ? slice.size() : 1));
  TT_CUDA_CHECK(cudaMalloc(&grad_sum_sq_, sizeof(float)));
  TT_CUDA_CHECK(cudaMemcpy(decay_mask_, decay_mask.data() + slice.begin, slice.size(), cudaMemcpyHostToDevice));
  TT_CUDA_CHECK(cudaMemset(m, 0, slice_bytes));
  TT_CUDA_CHECK(cudaMemset(v, 0, slice_bytes));
  TT_CUDA_CHECK(cudaMemset(grads, 0, padded_bytes));
  TT_CUDA_CHECK(cudaMemset(params, 0, padded_bytes));  // the padding stays zero
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
  TT_CUDA_CHECK(cudaMemcpy(m, host_m, sizeof(float) * slice_.size(), cudaMemcpyHostToDevice));
  TT_CUDA_CHECK(cudaMemcpy(v, host_v, sizeof(float) * slice_.size(), cudaMemcpyHostToDevice));
  updates_ = step;
}

void DeviceTrainBuffers::download_moments(float* host_m, float* host_v) const {
  TT_CUDA_CHECK(cudaDeviceSynchronize());
  TT_CUDA_CHECK(cudaMemcpy(host_m, m, sizeof(float) * slice_.size(), cudaMemcpyDeviceToHost));
  TT_CUDA_CHECK(cudaMemcpy(host_v, v, sizeof(float) * slice_.size(), cudaMemcpyDeviceToHost));
}

void DeviceTrainBuffers::upload_gradients(const float* host) {
  TT_CUDA_CHECK(cudaMemcpy(grads, host, sizeof(float) * total_, cudaMemcpyHostToDevice));
}

void DeviceTrainBuffers::zero_gradients(cudaStream_t stream) {
  TT_CUDA_CHECK(cudaMemsetAsync(grads, 0, sizeof(float) * total_, stream));
}

double DeviceTrainBuffers::norm_before_update(AdamWStep& step, cudaStream_t stream) {
  // The norm reaches the host before AdamW is queued: a non-finite gradient never touches the
  // weights, the moments or the update count (the trainer stops on it with the weights intact).
  float sum_sq = 0.0f;
  TT_CUDA_CHECK(cudaMemcpyAsync(&sum_sq, grad_sum_sq_, sizeof(float), cudaMemcpyDeviceToHost, stream));
  TT_CUDA_CHECK(cudaStreamSynchronize(stream));
  const double norm = std::sqrt(static_cast<double>(sum_sq));
  if (!std::isfinite(norm)) return norm;
  step.grad_sum_sq = grad_sum_sq_;
  step.step = ++updates_;
  return norm;
}

double DeviceTrainBuffers::optimizer_step(AdamWStep step, cudaStream_t stream) {
  if (slice_.begin != 0 || slice_.end != total_)
    throw std::runtime_error("DeviceTrainBuffers: the whole-buffer optimizer step on a ZeRO-1 slice");
  grad_norm_squared(grad_sum_sq_, grads, total_, stream);
  const double norm = norm_before_update(step, stream);
  if (std::isfinite(norm)) adamw_update(params, m, v, grads, decay_mask_, params_bf16, total_, step, stream);
  return norm;
}

float* DeviceTrainBuffers::slice_sum_of_squares(cudaStream_t stream) {
  grad_norm_squared(grad_sum_sq_, grads + slice_.begin, slice_.size(), stream);
  return grad_sum_sq_;
}

double DeviceTrainBuffers::slice_optimizer_step(AdamWStep step, cudaStream_t stream) {
  const double norm = norm_before_update(step, stream);
  if (std::isfinite(norm) && slice_.size() > 0)
    adamw_update(params + slice_.begin, m, v, grads + slice_.begin, decay_mask_, nullptr, slice_.size(), step, stream);
  return norm;
}

void DeviceTrainBuffers::refresh_bf16(cudaStream_t stream) { round_to_bf16(params_bf16, params, total_, stream); }

size_t DeviceTrainBuffers::device_bytes() const {
  return static_cast<size_t>(slice_.padded_total) * 2 * sizeof(float) + static_cast<size_t>(total_) * sizeof(uint16_t) +
         static_cast<size_t>(slice_.size()) * (2 * sizeof(float) + 1) + sizeof(float);
}

}  // namespace tt::cuda
