// The device-resident state of a training run: fp32 master parameters, their bf16 working copy,
// gradients and the two AdamW moments, each one contiguous device buffer in the host's parameter
// layout (same offsets as model/params.h's ParameterLayout), so a checkpoint written from it is the
// CPU's and a run moves between devices by copying whole buffers. Under ZeRO-1 (an OptimizerSlice
// short of every parameter) the moments and the decay mask cover the slice only, and the parameter
// and gradient buffers are padded with zeros to the ranks' equal chunks.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "kernels/cuda/ops.h"
#include "kernels/train_device.h"

namespace tt::cuda {

class DeviceTrainBuffers {
 public:
  // decay_mask: one byte per parameter (1: weight decay applies), as the host expands it.
  DeviceTrainBuffers(int64_t total, const std::vector<uint8_t>& decay_mask, const OptimizerSlice& slice);
  ~DeviceTrainBuffers();
  DeviceTrainBuffers(const DeviceTrainBuffers&) = delete;
  DeviceTrainBuffers& operator=(const DeviceTrainBuffers&) = delete;

  // Host <-> device copies of whole buffers (synchronous). Uploading parameters refreshes the bf16 copy.
  void upload_parameters(const float* host);
  void download_parameters(float* host) const;
  void upload_moments(const float* m, const float* v, int64_t step);  // the slice's
  void download_moments(float* m, float* v) const;
  void upload_gradients(const float* host);

  void zero_gradients(cudaStream_t stream);
  // The global gradient norm, clipping and one fused AdamW update (step.grad_sum_sq is supplied
  // here; step.step is this buffer's update count + 1). Returns the pre-clip norm (one sync, before
  // the update); a non-finite norm applies nothing (weights, moments and update count unchanged).
  double optimizer_step(AdamWStep step, cudaStream_t stream);
  // ZeRO-1's parts (kernels/train_device.h): the slice's sum of squares into grad_sum_sq(), then,
  // that float summed over the ranks, the clip and AdamW on the slice (no bf16 refresh: after the
  // all-gather, refresh_bf16 does every parameter).
  float* slice_sum_of_squares(cudaStream_t stream);
  double slice_optimizer_step(AdamWStep step, cudaStream_t stream);
  void refresh_bf16(cudaStream_t stream);

  int64_t total() const { return total_; }
  int64_t updates() const { return updates_; }
  size_t device_bytes() const;  // what the buffers occupy

  float* params = nullptr;         // fp32 master weights
  uint16_t* params_bf16 = nullptr; // bf16 working copy (the GEMM operands)
  float* grads = nullptr;
  float* m = nullptr;
  float* v = nullptr;

 private:
  // The norm in grad_sum_sq_ to the host (one sync); the update count advanced when it is finite.
  double norm_before_update(AdamWStep& step, cudaStream_t stream);

  int64_t total_ = 0, updates_ = 0;
  OptimizerSlice slice_;
  uint8_t* decay_mask_ = nullptr;
  float* grad_sum_sq_ = nullptr;
};

}  // namespace tt::cuda
