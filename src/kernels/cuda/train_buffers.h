// The device-resident state of a training run: fp32 master parameters, their bf16 working copy,
// gradients and the two AdamW moments, each one contiguous device buffer in the host's parameter
// layout (same offsets as model/params.h's ParameterLayout), so a checkpoint written from it is the
// CPU's and a run moves between devices by copying whole buffers.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "kernels/cuda/ops.h"

namespace tt::cuda {

class DeviceTrainBuffers {
 public:
  // decay_mask: one byte per parameter (1: weight decay applies), as the host expands it.
  DeviceTrainBuffers(int64_t total, const std::vector<uint8_t>& decay_mask);
  ~DeviceTrainBuffers();
  DeviceTrainBuffers(const DeviceTrainBuffers&) = delete;
  DeviceTrainBuffers& operator=(const DeviceTrainBuffers&) = delete;

  // Host <-> device copies of whole buffers (synchronous). Uploading parameters refreshes the bf16 copy.
  void upload_parameters(const float* host);
  void download_parameters(float* host) const;
  void upload_moments(const float* m, const float* v, int64_t step);
  void download_moments(float* m, float* v) const;
  void upload_gradients(const float* host);

  void zero_gradients(cudaStream_t stream);
  // The global gradient norm, clipping and one fused AdamW update (step.grad_sum_sq is supplied
  // here; step.step is this buffer's update count + 1). Returns the pre-clip norm (one sync, before
  // the update); a non-finite norm applies nothing (weights, moments and update count unchanged).
  double optimizer_step(AdamWStep step, cudaStream_t stream);

  int64_t total() const { return total_; }
  int64_t updates() const { return updates_; }
  size_t device_bytes() const;  // what the buffers occupy

  float* params = nullptr;         // fp32 master weights
  uint16_t* params_bf16 = nullptr; // bf16 working copy (the GEMM operands)
  float* grads = nullptr;
  float* m = nullptr;
  float* v = nullptr;

 private:
  int64_t total_ = 0, updates_ = 0;
  uint8_t* decay_mask_ = nullptr;
  float* grad_sum_sq_ = nullptr;
};

}  // namespace tt::cuda
