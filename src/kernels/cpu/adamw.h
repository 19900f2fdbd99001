// The optimizer tail of a training step as one pass over the parameter buffer: the clip scale of the
// gradients, the AdamW update (torch.optim.AdamW, as train/optimizer.h's adamw_step), the zeroing of
// the gradients for the next step and the refresh of the bf16 weight copy. Each element reads its
// parameter, gradient and moments once and writes them once (the separate passes read and wrote the
// gradients three times and the parameters twice). Lane-wise arithmetic, the operations of
// adamw_step in its order (one multiply-add per moment), so every path and the scalar reference give
// the same bits.
#pragma once
#include <cstdint>
#include <vector>

namespace tt {

// The scalars of one update, per torch: p = p * decay - step_size * m / (sqrt(v) / bias2_sqrt + eps).
struct AdamWScalars {
  float step_size = 0.0f;   // lr / (1 - beta1^t)
  float bias2_sqrt = 1.0f;  // sqrt(1 - beta2^t)
  float eps = 0.0f, beta1 = 0.0f, beta2 = 0.0f;
  float grad_scale = 1.0f;  // the gradient-norm clip coefficient (1: no clipping)
};

// A run of the buffers with one weight-decay factor (1 - lr * weight_decay, or 1 where exempt).
struct AdamWSegment {
  int64_t offset = 0, count = 0;
  float decay = 1.0f;
};

struct AdamWBuffers {
  float* params = nullptr;
  float* grads = nullptr;  // read, then set to zero
  float* m = nullptr;
  float* v = nullptr;
  float* bf16_copy = nullptr;  // when non-null: params rounded to bf16 (as core/bf16.h's round_to_bf16)
};

// Updates every segment, in parallel over fixed chunks (the result does not depend on the threads).
void adamw_fused_update(const AdamWBuffers& buffers, const std::vector<AdamWSegment>& segments,
                        const AdamWScalars& scalars);

}  // namespace tt
