// How much device memory a training run needs, estimated before anything is allocated, from the
// buffers model/device_transformer.h and the CUDA plugin (kernels/cuda/train_device.cu) create: the
// parameter state (fp32 master weights, their bf16 copy, gradients, two AdamW moments, the decay
// mask), the activations kept for the backward pass and its scratch for the largest micro-batch,
// the chunked classifier's logits, the GEMM/attention scratch and a fixed allowance for cuBLASLt and
// the allocator. A run that does not fit stops with one line saying what it needs, what is free and
// what to lower, instead of an out-of-memory error halfway through its first step.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/train_device.h"
#include "model/config.h"

namespace tt {

// The largest micro-batch a run hands the device: rows x seq tokens.
struct MicroBatchShape {
  int64_t rows = 1, seq = 1;
};

struct DeviceMemoryEstimate {
  int64_t parameters = 0;
  size_t parameter_state = 0;  // master + bf16 copy + gradients + moments + decay mask (ZeRO-1: of the slice)
  size_t activations = 0;      // kept activations and backward scratch (fp32, per token)
  size_t classifier = 0;       // one chunk of logits and its bf16 operands
  size_t scratch = 0;          // bf16 GEMM operands, attention scratch, cuBLASLt, allocator allowance
  size_t total() const { return parameter_state + activations + classifier + scratch; }
};

// optimizer_ranks: ZeRO-1's ranks (the device holds the AdamW moments of 1 / optimizer_ranks of the
// parameters); 1 without ZeRO-1.
DeviceMemoryEstimate estimate_training_memory(const ModelConfig& config, const MicroBatchShape& largest,
                                              int optimizer_ranks = 1);

// "" when `estimate` fits in free_bytes, else the one-line reason: needed vs free, by part, and
// what to lower. `what` names the run ("sft", "dpo reference pass", ...).
std::string device_memory_shortfall(const DeviceMemoryEstimate& estimate, const MicroBatchShape& largest,
                                    size_t free_bytes, const std::string& what);

// Before `device` holds anything of the run: fails with device_memory_shortfall's line when the run
// does not fit in its free memory (cudaMemGetInfo), else logs the estimate.
void require_device_memory(TrainDevice& device, const ModelConfig& config, const MicroBatchShape& largest,
                           const std::string& what, int optimizer_ranks = 1);

}  // namespace tt
