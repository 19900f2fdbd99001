// The classifier fused with cross-entropy / DFT on the GPU, chunked over tokens so that only
// chunk_rows x vocab logits exist at once; the math, arguments and statistics are those of
// kernels/cpu/classifier.h. Each chunk: logits = hidden·W^T (cuBLASLt), one block per row for the
// log-softmax, the loss and the logit gradient in place, then d_hidden = dlogits·W and
// d_weight += dlogits^T·hidden.
#pragma once
#include <cstdint>

#include "kernels/cpu/classifier.h"
#include "kernels/cuda/gemm.h"

namespace tt::cuda {

// Device buffers for one call, owned by the caller (reused across calls).
class ClassifierWorkspace {
 public:
  ClassifierWorkspace(int64_t chunk_rows, int64_t vocab, int64_t dim);
  ~ClassifierWorkspace();
  ClassifierWorkspace(const ClassifierWorkspace&) = delete;
  ClassifierWorkspace& operator=(const ClassifierWorkspace&) = delete;

  int64_t chunk_rows, vocab, dim;
  float* logits = nullptr;            // [chunk_rows, vocab]
  uint16_t* hidden_bf16 = nullptr;    // [chunk_rows, dim]
  uint16_t* dlogits_bf16 = nullptr;   // [chunk_rows, vocab]
  double* stats = nullptr;            // weighted loss, scored, correct
};

struct DeviceClassifierGrad {
  const float* token_weights = nullptr;  // [N]
  TokenLoss loss = TokenLoss::NLL;
  float* d_hidden = nullptr;  // [N, C], overwritten
  float* d_weight = nullptr;  // [V, C], accumulated
};

// hidden: [N, C]; weight: [V, C] fp32; weight_bf16: its bf16 copy (required when type is BF16);
// targets: [N]. Returns the statistics (copied to the host: one synchronisation per call).
ClassifierStats classifier_forward_backward(Blas& blas, ClassifierWorkspace& workspace, const float* hidden,
                                            const float* weight, const uint16_t* weight_bf16, const int32_t* targets,
                                            int64_t n, const DeviceClassifierGrad* grad, float* token_logprobs,
                                            GemmType type, cudaStream_t stream);

}  // namespace tt::cuda
